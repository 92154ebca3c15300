package dev.unet4j.core.checkpoint;

import java.io.IOException;

/**
 * A model folder, weight set or config that cannot be used: missing or ambiguous files, a bad shard index,
 * symbolic links leaving the model root, tensors duplicated across shards, malformed config JSON. The message names
 * the folder or file and what was looked for. Checked, like every other failure to read a model from disk.
 */
public class ModelException extends IOException {
    private static final long serialVersionUID = 1L;

    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
