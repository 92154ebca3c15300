package dev.unet4j.e2e.reliability;

import dev.unet4j.core.io.TempPaths;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Child JVM of {@link InterruptedWriteCleanupTest}: creates a quantize-style hidden folder {@code .q-*} with a file in
 * it and a {@code *.tmp} file, tracked as the writers track theirs, prints "ready" and waits to be signalled.
 */
public final class InterruptedWriteCleanupMain {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path folder = TempPaths.track(Files.createTempDirectory(dir, ".q-"));
        Files.writeString(folder.resolve("diffusion_pytorch_model.safetensors"), "partial");
        Path tmp = TempPaths.track(Files.createTempFile(dir, ".out.png.", ".tmp"));
        Path kept = Files.writeString(dir.resolve("finished.png"), "done"); // not tracked: must survive
        System.out.println("ready " + folder.getFileName() + " " + tmp.getFileName() + " " + kept.getFileName());
        System.out.flush();
        Thread.sleep(120_000);
    }
}
