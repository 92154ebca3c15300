package dev.unet4j.core.checkpoint;

/**
 * A config key whose value has the wrong type or range for what the caller asked (e.g. a string where an integer
 * is expected, or {@code null} for a non-nullable accessor). Unchecked: it is thrown by {@link DiffusersConfig}'s
 * typed accessors, which model constructors call many times; the message names the file, the key, what was found
 * and what was expected.
 */
public class ConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }
}
