package dev.unet4j.cli;

import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * generate's randomness: the initial latents from {@code --init-noise} or the seed, the step noise from
 * {@code --noise-from} ({@code noise.0, noise.1, ...}) or the seed. As in diffusers, one generator serves the whole
 * batch, and when the initial latents are given the generator's first draw goes to the first stochastic step.
 */
final class CliNoise implements NoiseSource {
    private final NoiseSource generated;
    private final Latents initial;
    private final List<Latents> steps;
    private final Path stepFile;

    private CliNoise(long seed, Latents initial, List<Latents> steps, Path stepFile) {
        this.generated = NoiseSource.seeded(seed);
        this.initial = initial;
        this.steps = steps;
        this.stepFile = stepFile;
    }

    /** @param initial the --init-noise latents or null; @param stepFile the --noise-from file or null */
    static CliNoise of(long seed, Latents initial, Path stepFile) throws IOException {
        if (stepFile == null) return new CliNoise(seed, initial, null, null);
        List<Latents> steps = new ArrayList<>();
        try (TensorFile f = TensorFile.open(stepFile, "--noise-from")) {
            f.allowOnly(n -> n.matches("noise\\.\\d+"), "noise.0, noise.1, ...");
            for (int i = 0; f.has("noise." + i); i++) steps.add(f.latents("noise." + i, -1));
            if (steps.size() != f.names().size()) {
                throw new UserException("--noise-from " + stepFile + ": noise tensors must be numbered from noise.0 without gaps");
            }
        }
        return new CliNoise(seed, initial, steps, stepFile);
    }

    @Override
    public Latents initial(int[] shape) {
        if (initial == null) return generated.initial(shape);
        if (!Arrays.equals(initial.shape(), shape)) {
            throw new UserException("initial_latents has shape " + Arrays.toString(initial.shape()) + ", expected " + Arrays.toString(shape));
        }
        return initial.copy();
    }

    @Override
    public Latents step(int stepIndex, int[] shape) {
        if (steps == null) return generated.step(stepIndex, shape);
        if (stepIndex >= steps.size()) {
            throw new UserException("--noise-from " + stepFile + ": step " + stepIndex + " needs noise." + stepIndex
                    + " but the file has " + steps.size() + " noise tensors");
        }
        Latents n = steps.get(stepIndex);
        if (!Arrays.equals(n.shape(), shape)) {
            throw new UserException("--noise-from " + stepFile + ": noise." + stepIndex + " has shape "
                    + Arrays.toString(n.shape()) + ", expected " + Arrays.toString(shape));
        }
        return n.copy();
    }
}
