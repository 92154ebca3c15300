package dev.unet4j.samplers;

import dev.unet4j.core.random.TorchGenerator;

import java.util.Arrays;
import java.util.List;

/**
 * Where a run's randomness comes from: the initial latents, then one noise tensor per step for the stochastic
 * samplers (DDIM with eta &gt; 0, Euler ancestral, EDM churn), always in that order. Implementations are
 * stateful: use a fresh one per run.
 */
public interface NoiseSource {
    /** Initial noise of the given shape (drawn before any step noise). */
    Latents initial(int[] shape);

    /** Noise for step {@code stepIndex}; called at most once per step, in step order. */
    Latents step(int stepIndex, int[] shape);

    /** One torch generator for the whole batch: {@code torch.randn(shape, generator=manual_seed(seed))}. */
    static NoiseSource seeded(long seed) {
        return generators(List.of(new TorchGenerator(seed)));
    }

    /**
     * One generator per batch item, as diffusers with a list of generators: item i of every draw comes from
     * generator i (so each item equals a batch-1 run with that seed).
     */
    static NoiseSource perItem(long... seeds) {
        if (seeds.length == 0) throw new IllegalArgumentException("need at least one seed");
        TorchGenerator[] g = new TorchGenerator[seeds.length];
        for (int i = 0; i < seeds.length; i++) g[i] = new TorchGenerator(seeds[i]);
        return new Seeded(g);
    }

    /**
     * Draws from these generators, continuing their streams (they may have drawn before, as img2img's posterior
     * sample does): one tensor per draw from a single generator, or item i from generator i ({@code randn_tensor}
     * with a list of generators).
     */
    static NoiseSource generators(List<TorchGenerator> generators) {
        if (generators.isEmpty()) throw new IllegalArgumentException("need at least one generator");
        return new Seeded(generators.toArray(new TorchGenerator[0]));
    }

    /** Caller-supplied noise: {@code initial}, then {@code perStep.get(i)} for step i (noise.0, noise.1, ...). */
    static NoiseSource supplied(Latents initial, List<Latents> perStep) {
        return new Supplied(initial, List.copyOf(perStep));
    }

    final class Seeded implements NoiseSource {
        private final TorchGenerator[] generators;

        private Seeded(TorchGenerator[] generators) {
            this.generators = generators;
        }

        @Override
        public Latents initial(int[] shape) {
            return draw(shape);
        }

        @Override
        public Latents step(int stepIndex, int[] shape) {
            return draw(shape);
        }

        private Latents draw(int[] shape) {
            if (generators.length == 1) return Latents.randn(generators[0], shape);
            if (shape[0] != generators.length) {
                throw new IllegalArgumentException(generators.length + " seeds given for a batch of " + shape[0]);
            }
            int[] item = shape.clone();
            item[0] = 1;
            Latents[] parts = new Latents[generators.length];
            for (int i = 0; i < parts.length; i++) parts[i] = Latents.randn(generators[i], item);
            return Latents.concat(parts);
        }
    }

    final class Supplied implements NoiseSource {
        private final Latents initial;
        private final List<Latents> perStep;

        private Supplied(Latents initial, List<Latents> perStep) {
            this.initial = initial;
            this.perStep = perStep;
        }

        @Override
        public Latents initial(int[] shape) {
            if (initial == null) throw new IllegalStateException("no initial noise was supplied");
            check(initial, shape, "initial noise");
            return initial.copy();
        }

        @Override
        public Latents step(int stepIndex, int[] shape) {
            if (stepIndex >= perStep.size()) {
                throw new IllegalStateException("step " + stepIndex + " needs noise but only " + perStep.size()
                        + " step noise tensors were supplied");
            }
            Latents n = perStep.get(stepIndex);
            check(n, shape, "noise." + stepIndex);
            return n.copy();
        }

        private static void check(Latents n, int[] shape, String what) {
            if (!Arrays.equals(n.shape(), shape)) {
                throw new IllegalArgumentException(what + " has shape " + Arrays.toString(n.shape()) + ", expected "
                        + Arrays.toString(shape));
            }
        }
    }
}
