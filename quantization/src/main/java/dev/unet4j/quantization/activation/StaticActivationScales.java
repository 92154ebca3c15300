package dev.unet4j.quantization.activation;

import java.util.Map;
import java.util.NoSuchElementException;

/** Calibrated activation quantizers by site. Immutable. */
public final class StaticActivationScales {
    private final Map<ActivationSite, ActivationQuantParams> params;

    public StaticActivationScales(Map<ActivationSite, ActivationQuantParams> params) {
        this.params = Map.copyOf(params);
    }

    /** The quantizer of {@code site}. */
    public ActivationQuantParams get(ActivationSite site) {
        ActivationQuantParams p = params.get(site);
        if (p == null) throw new NoSuchElementException("no calibrated activation scale for " + site);
        return p;
    }

    /** The whole-input quantizer of {@code node}. */
    public ActivationQuantParams input(String node) {
        return get(ActivationSite.input(node));
    }

    /** The separate quantizers of the two halves of {@code node}'s concatenated input. */
    public Concat concat(String node) {
        return new Concat(get(ActivationSite.concatHidden(node)), get(ActivationSite.concatSkip(node)));
    }

    public Map<ActivationSite, ActivationQuantParams> asMap() {
        return params;
    }

    /** Quantizers of {@code cat(hidden, skip)}: the hidden half first, as diffusers concatenates. */
    public record Concat(ActivationQuantParams hidden, ActivationQuantParams skip) {
    }
}
