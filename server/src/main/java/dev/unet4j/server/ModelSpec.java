package dev.unet4j.server;

import dev.unet4j.samplers.Samplers;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * One registry entry: the name requests use and the folder it is loaded from ({@code --model NAME=DIR}).
 *
 * @param name      [A-Za-z0-9._-]{1,64}
 * @param dir       the diffusers folder
 * @param nullClass class-conditional models: the unconditional label, -1 = the last class
 * @param guidance  the default guidance scale of requests that give none; NaN = the backend's (class-conditional
 *                  1, i.e. none; Stable Diffusion 7.5, diffusers' default)
 * @param steps     the default steps; 0 = the backend's (class-conditional 25, Stable Diffusion 50)
 * @param sampler   the default sampler (a {@code Samplers.NAMES} name); null = the scheduler config's
 */
public record ModelSpec(String name, Path dir, int nullClass, double guidance, int steps, String sampler) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    public ModelSpec {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("model name '" + name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
        }
        if (!Double.isNaN(guidance) && !(guidance >= 0 && Double.isFinite(guidance))) {
            throw new IllegalArgumentException("guidance must be >= 0, got " + guidance);
        }
        if (steps < 0) throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        if (sampler != null && !Samplers.NAMES.contains(sampler)) {
            throw new IllegalArgumentException("unknown sampler " + sampler + "; valid: " + String.join(", ", Samplers.NAMES));
        }
    }

    /** A spec with the backend's defaults. */
    public ModelSpec(String name, Path dir) {
        this(name, dir, -1, Double.NaN, 0, null);
    }

    /** {@code NAME=DIR} with the backend's defaults. */
    public static ModelSpec parse(String text) {
        int eq = text.indexOf('=');
        if (eq <= 0 || eq == text.length() - 1) throw new IllegalArgumentException("--model '" + text + "': expected NAME=DIR");
        return new ModelSpec(text.substring(0, eq), Path.of(text.substring(eq + 1)));
    }
}
