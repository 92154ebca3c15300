package dev.unet4j.quantization.nn;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.unet.PathGlob;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which conv/linear layers to quantize, and how, by {@link PathGlob glob} over diffusers module paths ({@code *} one
 * path segment, {@code **} any run of segments, as in cache policies' node patterns).
 *
 * <p>A path is resolved in this order: the first matching {@code overrides} entry gives its quantizer (this can
 * also force-quantize a path the float set would keep); else a match in {@code keepFloat} keeps it float32; else it
 * gets {@code defaultQuantizer} (or stays float32 when that is null). {@link #DEFAULT_KEEP_FLOAT} is the float32 set
 * that diffusion quantization papers keep because it is tiny and sensitive: the time and class embeddings, the
 * first and last convolutions, the 1x1 resnet shortcuts, and every normalisation (the attention softmax is not a
 * weighted layer and always runs in float32). The embeddings are listed both as modules and with their children,
 * since {@code class_embedding} is an {@code nn.Embedding} in some configs and a two-linear MLP in others. Each resnet's {@code time_emb_proj} is quantized.
 *
 * @param defaultQuantizer quantizer for paths not kept float; null = quantize only {@code overrides}
 * @param keepFloat        globs of layers kept float32
 * @param overrides        glob to quantizer, first match wins, in iteration order
 */
public record QuantizationPlan(WeightQuantizer defaultQuantizer, List<PathGlob> keepFloat, Map<PathGlob, WeightQuantizer> overrides) {

    public static final List<String> DEFAULT_KEEP_FLOAT = List.of(
            "time_embedding", "time_embedding.**", "class_embedding", "class_embedding.**", "conv_in", "conv_out", "**.conv_shortcut", "**norm**");

    public QuantizationPlan {
        keepFloat = List.copyOf(keepFloat);
        overrides = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
    }

    /** {@code quantizer} everywhere except {@link #DEFAULT_KEEP_FLOAT}. */
    public static QuantizationPlan defaults(WeightQuantizer quantizer) {
        return new QuantizationPlan(quantizer, globs(DEFAULT_KEEP_FLOAT), Map.of());
    }

    /** This plan with more globs kept float32. */
    public QuantizationPlan keepingFloat(String... globs) {
        List<PathGlob> k = new ArrayList<>(keepFloat);
        k.addAll(globs(List.of(globs)));
        return new QuantizationPlan(defaultQuantizer, k, overrides);
    }

    /** This plan with the float32 set replaced. */
    public QuantizationPlan withKeepFloat(List<String> globs) {
        return new QuantizationPlan(defaultQuantizer, globs(globs), overrides);
    }

    /** This plan with {@code glob} quantized by {@code quantizer}, before earlier overrides and the float set. */
    public QuantizationPlan override(String glob, WeightQuantizer quantizer) {
        Map<PathGlob, WeightQuantizer> o = new LinkedHashMap<>();
        o.put(PathGlob.of(glob), quantizer);
        o.putAll(overrides);
        return new QuantizationPlan(defaultQuantizer, keepFloat, o);
    }

    /** The quantizer for the layer at {@code path}, or empty to keep it float32. */
    public Optional<WeightQuantizer> quantizerFor(String path) {
        for (Map.Entry<PathGlob, WeightQuantizer> e : overrides.entrySet()) {
            if (e.getKey().matches(path)) return Optional.of(e.getValue());
        }
        for (PathGlob g : keepFloat) if (g.matches(path)) return Optional.empty();
        return Optional.ofNullable(defaultQuantizer);
    }

    /**
     * A JSON description for checkpoint metadata: {@code {"default": {"format", "granularity"} | null,
     * "keepFloat": [globs], "overrides": {glob: {"format", "granularity"}}}}. Range searches are not recorded
     * (they only matter while quantizing).
     */
    public ObjectNode toJson() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        if (defaultQuantizer == null) root.putNull("default");
        else root.set("default", describe(defaultQuantizer));
        ArrayNode keep = root.putArray("keepFloat");
        keepFloat.forEach(g -> keep.add(g.toString()));
        ObjectNode o = root.putObject("overrides");
        overrides.forEach((g, q) -> o.set(g.toString(), describe(q)));
        return root;
    }

    private static ObjectNode describe(WeightQuantizer q) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("format", q.format().name());
        n.put("granularity", q.granularity().name());
        return n;
    }

    private static List<PathGlob> globs(List<String> s) {
        return s.stream().map(g -> PathGlob.of(g)).toList();
    }
}
