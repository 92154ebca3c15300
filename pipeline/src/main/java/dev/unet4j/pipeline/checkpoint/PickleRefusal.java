package dev.unet4j.pipeline.checkpoint;

import dev.unet4j.core.checkpoint.ModelException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * PyTorch pickle checkpoints ({@code .ckpt}, {@code .pt}, {@code .pth}, {@code .bin}) are refused, never opened:
 * unpickling runs whatever code the file names. Recognised by extension and by content (a zip archive, as
 * {@code torch.save} writes since 1.6, or a raw pickle stream starting with the PROTO opcode 0x80).
 */
public final class PickleRefusal {
    private PickleRefusal() {
    }

    public static void check(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean byName = name.endsWith(".ckpt") || name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".bin")
                || name.endsWith(".pkl");
        boolean byContent = false;
        if (!byName && Files.isRegularFile(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                byte[] head = in.readNBytes(9);
                // a safetensors file starts with its header length (u64 LE) and the header's '{'
                boolean safetensors = head.length == 9 && head[8] == '{';
                byContent = !safetensors && head.length >= 2
                        && ((head[0] == 'P' && head[1] == 'K') || ((head[0] & 0xff) == 0x80 && head[1] >= 1 && head[1] <= 5));
            }
        }
        if (byName || byContent) {
            throw new ModelException(file + ": a PyTorch pickle checkpoint" + (byName ? "" : " (by its content)")
                    + ". unet4j never unpickles files: loading a pickle runs arbitrary code stored in it. Convert it to "
                    + "safetensors once in a trusted Python environment, e.g. `python -c \"import torch, safetensors.torch as s; "
                    + "sd = torch.load('model.ckpt', map_location='cpu', weights_only=True); sd = sd.get('state_dict', sd); "
                    + "s.save_file({k: v.contiguous() for k, v in sd.items() if hasattr(v, 'contiguous')}, 'model.safetensors')\"`, "
                    + "or download the .safetensors release of the model");
        }
    }
}
