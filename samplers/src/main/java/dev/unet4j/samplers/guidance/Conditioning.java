package dev.unet4j.samplers.guidance;

/**
 * Per-item conditioning passed through the samplers opaquely to the network adapter (which understands the
 * concrete types). Guidance only needs to count items and stack them along the batch axis.
 */
public interface Conditioning {
    int batchSize();

    /** {@code torch.cat([this, other])}: this conditioning's items followed by other's. */
    Conditioning concat(Conditioning other);
}
