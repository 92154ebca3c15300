package dev.unet4j.quantization.activation;

/**
 * Where an activation quantizer sits: the input of a node, named by its diffusers module path
 * (e.g. {@code "up_blocks.1.resnets.0.conv1"}), or one half of a concatenated input. An up-block resnet's input is
 * {@code cat(hidden, skip)} along channels, and the two halves come from different places (the decoder path and an
 * encoder skip) with ranges that often differ by an order of magnitude, so each gets its own quantizer
 * (as in Q-Diffusion's split shortcut quantization).
 *
 * @param node diffusers module path of the layer whose input this is
 * @param part which part of the input
 */
public record ActivationSite(String node, Part part) {
    public enum Part {
        /** The whole input. */
        INPUT,
        /** The first half of a channel concatenation: the decoder's hidden state. */
        CONCAT_HIDDEN,
        /** The second half of a channel concatenation: the encoder skip. */
        CONCAT_SKIP
    }

    public ActivationSite {
        if (node == null || node.isEmpty()) throw new IllegalArgumentException("activation site needs a node path");
        if (part == null) throw new IllegalArgumentException("activation site " + node + " needs a part");
    }

    public static ActivationSite input(String node) {
        return new ActivationSite(node, Part.INPUT);
    }

    public static ActivationSite concatHidden(String node) {
        return new ActivationSite(node, Part.CONCAT_HIDDEN);
    }

    public static ActivationSite concatSkip(String node) {
        return new ActivationSite(node, Part.CONCAT_SKIP);
    }

    /** {@code node}, {@code node#hidden} or {@code node#skip}. */
    @Override
    public String toString() {
        return switch (part) {
            case INPUT -> node;
            case CONCAT_HIDDEN -> node + "#hidden";
            case CONCAT_SKIP -> node + "#skip";
        };
    }
}
