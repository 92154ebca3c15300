package dev.unet4j.unet;

/** A config value diffusers accepts but this implementation does not (or that diffusers itself rejects). */
public final class UnsupportedConfigException extends RuntimeException {
    public UnsupportedConfigException(String message) {
        super(message);
    }
}
