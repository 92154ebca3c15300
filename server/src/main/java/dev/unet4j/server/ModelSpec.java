package dev.unet4j.server;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * One registry entry: the name requests use and the folder it is loaded from ({@code --model NAME=DIR}).
 *
 * @param name      [A-Za-z0-9._-]{1,64}
 * @param dir       the diffusers folder
 * @param nullClass class-conditional models: the unconditional label, -1 = the last class
 * @param guidance  the default guidance scale of requests that give none
 */
public record ModelSpec(String name, Path dir, int nullClass, double guidance) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    public ModelSpec {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("model name '" + name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
        }
        if (!Double.isFinite(guidance) || guidance < 0) throw new IllegalArgumentException("guidance must be >= 0, got " + guidance);
    }

    /** {@code NAME=DIR} with default guidance 1 (none) and the last class as null class. */
    public static ModelSpec parse(String text) {
        int eq = text.indexOf('=');
        if (eq <= 0 || eq == text.length() - 1) throw new IllegalArgumentException("--model '" + text + "': expected NAME=DIR");
        return new ModelSpec(text.substring(0, eq), Path.of(text.substring(eq + 1)), -1, 1.0);
    }
}
