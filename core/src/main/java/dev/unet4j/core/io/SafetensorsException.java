package dev.unet4j.core.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that breaks the format (bad header, bad offsets, unknown dtype, ...) or a request the file
 * cannot answer (no such tensor, wrong dtype for the call). Always checked: every failure of reading an untrusted
 * file is an {@link IOException}. The message names the file and, where one is involved, the tensor.
 */
public class SafetensorsException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String tensor;

    public SafetensorsException(Path file, String tensor, String message) {
        this(file, tensor, message, null);
    }

    public SafetensorsException(Path file, String tensor, String message, Throwable cause) {
        super(format(file, tensor, message), cause);
        this.file = file;
        this.tensor = tensor;
    }

    /** The file concerned (may be null for in-memory data). */
    public Path file() {
        return file;
    }

    /** The tensor concerned, or null when the problem is not about one tensor. */
    public String tensor() {
        return tensor;
    }

    private static String format(Path file, String tensor, String message) {
        StringBuilder sb = new StringBuilder("safetensors file ").append(file == null ? "<memory>" : file);
        if (tensor != null) sb.append(", tensor '").append(tensor).append('\'');
        return sb.append(": ").append(message).toString();
    }
}
