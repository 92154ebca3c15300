package dev.unet4j.quantization.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.quantization.nn.QuantizationPlan;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A quantized diffusers model folder: {@code config.json} (the float model's, unchanged) and
 * {@code diffusion_pytorch_model.safetensors} holding
 * <ul>
 *   <li>each quantized weight under its own name ({@code down_blocks.0.resnets.0.conv1.weight}) with dtype
 *   {@code I8}, {@code F8_E4M3} or {@code F8_E5M2} and its original shape;</li>
 *   <li>its scales as {@code <weight name>.scale}, {@code F32}, shape {@code [out]} (per channel) or {@code [1]};</li>
 *   <li>every other tensor (biases, norms, float32-kept layers) as {@code F32}.</li>
 * </ul>
 * The header's {@code __metadata__} has {@code "format": "pt"} and {@value #METADATA_KEY}: a JSON object
 * {@code {"version": 1, "plan": <QuantizationPlan.toJson()> or null, "weights": {name: {"format": "INT8"|"FP8_E4M3"|"FP8_E5M2",
 * "scale": "<name>.scale"}}}}. Tensors are written sorted by name, so writing what was read gives the same bytes.
 */
public final class QuantizedCheckpoint {
    public static final String METADATA_KEY = "unet4j.quantization";
    public static final String WEIGHTS_FILE = "diffusion_pytorch_model.safetensors";
    public static final String CONFIG_FILE = "config.json";
    public static final String SCALE_SUFFIX = ".scale";
    public static final int VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A float32 tensor kept as it is. */
    public record FloatTensor(long[] shape, float[] data) {
        public FloatTensor {
            if (Tensor.numel(shape) != data.length) throw new IllegalArgumentException(data.length + " values for shape " + Arrays.toString(shape));
        }
    }

    private final String config;
    private final JsonNode plan;
    private final Map<String, QuantizedTensor> quantized;
    private final Map<String, FloatTensor> floats;

    /**
     * @param config    the model's config.json text
     * @param plan      the plan that produced it (metadata only), or null
     * @param quantized quantized weights by tensor name
     * @param floats    float32 tensors by name
     */
    public QuantizedCheckpoint(String config, JsonNode plan, Map<String, QuantizedTensor> quantized, Map<String, FloatTensor> floats) {
        this.config = config;
        this.plan = plan;
        this.quantized = new TreeMap<>(quantized);
        this.floats = new TreeMap<>(floats);
        for (String name : quantized.keySet()) {
            if (floats.containsKey(name) || floats.containsKey(name + SCALE_SUFFIX)) {
                throw new IllegalArgumentException("tensor " + name + " (or its scale) is both quantized and float");
            }
        }
    }

    /**
     * Quantizes a float diffusers folder by {@code plan}: every rank-2 or rank-4 {@code <path>.weight} whose module
     * path the plan quantizes (so conv and linear weights; embeddings are in the default float set), everything
     * else kept float32.
     */
    public static QuantizedCheckpoint quantize(Path floatModelFolder, QuantizationPlan plan) throws IOException {
        String config = Files.readString(floatModelFolder.resolve(CONFIG_FILE));
        Map<String, QuantizedTensor> q = new LinkedHashMap<>();
        Map<String, FloatTensor> f = new LinkedHashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(floatModelFolder.resolve(WEIGHTS_FILE))) {
            for (TensorInfo info : file.infos()) {
                float[] data;
                try (Tensor t = file.load(info.name(), Allocator.direct())) {
                    data = t.toFloatArray();
                }
                String name = info.name();
                Optional<WeightQuantizer> quantizer = name.endsWith(".weight") && (info.rank() == 2 || info.rank() == 4)
                        ? plan.quantizerFor(name.substring(0, name.length() - ".weight".length())) : Optional.empty();
                if (quantizer.isPresent()) q.put(name, quantizer.get().quantize(name, data, info.shape()));
                else f.put(name, new FloatTensor(info.shape(), data));
            }
        }
        return new QuantizedCheckpoint(config, plan.toJson(), q, f);
    }

    public String config() {
        return config;
    }

    /** The recorded plan, or null. */
    public JsonNode plan() {
        return plan;
    }

    public Map<String, QuantizedTensor> quantized() {
        return java.util.Collections.unmodifiableMap(quantized);
    }

    public Map<String, FloatTensor> floats() {
        return java.util.Collections.unmodifiableMap(floats);
    }

    /**
     * Every parameter name of the float model this checkpoint stands for: the float tensors and the quantized
     * weights, without the {@code .scale} tensors.
     */
    public java.util.Set<String> parameterNames() {
        java.util.Set<String> names = new java.util.TreeSet<>(floats.keySet());
        names.addAll(quantized.keySet());
        return names;
    }

    /**
     * Parameter {@code name} as a standalone float32 tensor the caller closes (a quantized weight dequantized at its
     * stored precision), or null if absent; this is what a model builder's parameter source returns.
     */
    public Tensor loadFloat(String name) {
        QuantizedTensor q = quantized.get(name);
        if (q != null) return Tensor.of(q.dequantize(), q.shape());
        FloatTensor f = floats.get(name);
        return f == null ? null : Tensor.of(f.data(), f.shape());
    }

    /** The metadata entry {@value #METADATA_KEY} as written. */
    public String metadataJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", VERSION);
        if (plan == null) root.putNull("plan");
        else root.set("plan", plan);
        ObjectNode weights = root.putObject("weights");
        quantized.forEach((name, t) -> {
            ObjectNode w = weights.putObject(name);
            w.put("format", t.format().name());
            w.put("scale", name + SCALE_SUFFIX);
        });
        try {
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise quantization metadata", e);
        }
    }

    /** Writes {@code folder/config.json} and {@code folder/diffusion_pytorch_model.safetensors} (created if needed). */
    public void write(Path folder) throws IOException {
        Files.createDirectories(folder);
        SafetensorsWriter w = new SafetensorsWriter().order(SafetensorsWriter.Order.INSERTION);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put(METADATA_KEY, metadataJson());
        w.metadata(meta);
        TreeMap<String, Runnable> adds = new TreeMap<>();
        quantized.forEach((name, t) -> {
            adds.put(name, () -> w.addRaw(name, DType.fromSafetensorsName(t.format().safetensorsDtype()).orElseThrow(), t.shape(), t.codes()));
            adds.put(name + SCALE_SUFFIX, () -> w.add(name + SCALE_SUFFIX, t.scales(), t.scales().length));
        });
        floats.forEach((name, t) -> adds.put(name, () -> w.add(name, t.data(), t.shape())));
        adds.values().forEach(Runnable::run);
        // config first to a temporary file, then the weights (written atomically), then the config moved in: a
        // failure at any point leaves no weights without their config and no temporary file
        Path weights = folder.resolve(WEIGHTS_FILE);
        Path configTmp = dev.unet4j.core.io.TempPaths.createFile(folder, "." + CONFIG_FILE + ".", ".tmp");
        boolean done = false;
        try {
            Files.writeString(configTmp, config);
            w.write(weights);
            try {
                try {
                    Files.move(configTmp, folder.resolve(CONFIG_FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                    Files.move(configTmp, folder.resolve(CONFIG_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(weights);
                throw e;
            }
            done = true;
        } finally {
            if (!done) Files.deleteIfExists(configTmp);
            dev.unet4j.core.io.TempPaths.release(configTmp);
        }
    }

    /** Reads a folder written by {@link #write}. */
    public static QuantizedCheckpoint read(Path folder) throws IOException {
        Path file = folder.resolve(WEIGHTS_FILE);
        String config = Files.readString(folder.resolve(CONFIG_FILE));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            String metaText = st.metadata().get(METADATA_KEY);
            if (metaText == null) throw new IOException(file + ": no \"" + METADATA_KEY + "\" metadata; not a unet4j quantized checkpoint");
            JsonNode meta;
            try {
                meta = JSON.readTree(metaText);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IOException(file + ": the \"" + METADATA_KEY + "\" metadata is not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (meta == null || !meta.isObject()) throw new IOException(file + ": the \"" + METADATA_KEY + "\" metadata is not a JSON object");
            if (meta.path("version").asInt(-1) != VERSION) {
                throw new IOException(file + ": quantization metadata version " + meta.path("version") + ", this reader understands " + VERSION);
            }
            Map<String, QuantizedTensor> q = new LinkedHashMap<>();
            Map<String, String> scaleNames = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = meta.path("weights").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                WeightFormat format;
                try {
                    format = WeightFormat.valueOf(e.getValue().path("format").asText());
                } catch (IllegalArgumentException ex) {
                    throw new IOException(file + ": tensor " + name + " has unknown quantization format " + e.getValue().path("format"));
                }
                String scaleName = e.getValue().path("scale").asText(name + SCALE_SUFFIX);
                TensorInfo info = st.info(name);
                if (!info.dtype().safetensorsName().equals(format.safetensorsDtype())) {
                    throw new IOException(file + ": tensor " + name + " is " + info.dtype() + " but its metadata says " + format);
                }
                float[] scales;
                try (Tensor s = st.load(scaleName, Allocator.direct())) {
                    scales = s.toFloatArray();
                }
                for (float v : scales) {
                    // a NaN, infinite or zero scale dequantizes its whole channel to NaN or zero
                    if (!Float.isFinite(v) || v <= 0) {
                        throw new IOException(file + ": tensor " + scaleName + " (the scales of " + name + ") holds " + v
                                + "; quantization scales must be finite and > 0");
                    }
                }
                try {
                    q.put(name, new QuantizedTensor(name, format, info.shape(), st.readBytes(name), scales));
                } catch (IllegalArgumentException ex) {
                    throw new IOException(file + ": tensor " + name + ": " + ex.getMessage(), ex);
                }
                scaleNames.put(scaleName, name);
            }
            Map<String, FloatTensor> f = new LinkedHashMap<>();
            for (TensorInfo info : st.infos()) {
                if (q.containsKey(info.name()) || scaleNames.containsKey(info.name())) continue;
                if (info.dtype() != DType.F32) throw new IOException(file + ": unquantized tensor " + info.name() + " is " + info.dtype() + ", expected F32");
                float[] data = new float[(int) info.numel()];
                st.slice(info.name()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
                f.put(info.name(), new FloatTensor(info.shape(), data));
            }
            JsonNode plan = meta.path("plan").isObject() ? meta.get("plan") : null;
            return new QuantizedCheckpoint(config, plan, q, f);
        }
    }

}
