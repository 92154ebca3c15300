package dev.unet4j.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The {@code settings} column: what a row ran with, as a JSON object. */
final class SettingsJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SettingsJson() {
    }

    static String of(String sampler, RowRequest r, int height, int width, GeneratorSettings s, boolean img2img, ExecutorThreads threads) {
        ObjectNode o = JSON.createObjectNode();
        o.put("sampler", sampler);
        o.put("steps", r.steps());
        o.put("guidance", r.guidance());
        o.put("height", height);
        o.put("width", width);
        if (img2img) o.put("strength", s.strength());
        o.put("cache", s.cachePolicy() == null ? "none" : s.cachePolicy());
        o.put("quantization", s.quantization() == null ? "fp32" : s.quantization());
        o.put("intra_op_threads", threads.intraOpThreads());
        o.put("threads_from", threads.source().label);
        return o.toString();
    }
}
