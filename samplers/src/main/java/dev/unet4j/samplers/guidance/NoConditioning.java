package dev.unet4j.samplers.guidance;

/** Unconditional models (e.g. DDPM): only the batch size. */
public record NoConditioning(int batchSize) implements Conditioning {
    @Override
    public Conditioning concat(Conditioning other) {
        if (!(other instanceof NoConditioning n)) throw new IllegalArgumentException("cannot stack " + this + " with " + other);
        return new NoConditioning(batchSize + n.batchSize);
    }
}
