package dev.unet4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.model.ModelFiles;
import dev.unet4j.core.model.ModelLocator;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.io.QuantizedCheckpoint;
import dev.unet4j.quantization.nn.QuantizedUNets;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A model as the commands use it: the located files, the loaded UNet (float, quantized while loading by
 * {@code --quant}, or a stored quantized checkpoint), its scheduler config, and what its inputs must look like.
 */
final class LoadedModel implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    final String name;
    /** The demo model or a copy of it (same config.json, e.g. quantized): the demo's guidance defaults apply. */
    final boolean demo;
    final ModelFiles files;
    final JsonNode config;
    final UNetModel unet;
    final Consumer<UNetSession> sessionSetup;
    final boolean storedQuantized;

    private LoadedModel(String name, boolean demo, ModelFiles files, JsonNode config, UNetModel unet,
                        Consumer<UNetSession> sessionSetup, boolean storedQuantized) {
        this.name = name;
        this.demo = demo;
        this.files = files;
        this.config = config;
        this.unet = unet;
        this.sessionSetup = sessionSetup;
        this.storedQuantized = storedQuantized;
    }

    /** The files of {@code --model} (null or {@code demo-digits}: the bundled demo), not loaded. */
    static ModelFiles locate(String model) throws IOException {
        Path dir = isDemo(model) ? DemoModel.folder() : Path.of(model);
        if (!Files.exists(dir)) throw new UserException("model folder not found: " + dir.toAbsolutePath());
        if (!Files.isDirectory(dir)) throw new UserException("--model must be a diffusers model folder, not a file: " + dir);
        ModelFiles files = ModelLocator.locate(dir);
        if (files.isSharded()) throw new UserException("sharded checkpoints are not supported yet: " + files.weightIndex().orElseThrow());
        return files;
    }

    static boolean isDemo(String model) {
        return model == null || model.equals(DemoModel.NAME);
    }

    /** Loads {@code --model} with {@code --quant} (null: as stored). */
    static LoadedModel load(String model, QuantSpec quant, Kernels kernels) throws IOException {
        ModelFiles files = locate(model);
        JsonNode config = JSON.readTree(files.configJson().toFile());
        Path weights = files.weightFiles().get(0);
        boolean stored = isQuantizedCheckpoint(weights);
        UNetModel unet;
        Consumer<UNetSession> setup = s -> { };
        if (stored) {
            if (quant != null) {
                throw new UserException(files.folder() + " is already a quantized checkpoint; run it without --quant");
            }
            unet = QuantizedUNets.loadCheckpoint(files.folder(), kernels);
        } else if (quant != null && quant.kind() == QuantSpec.Kind.MIXED) {
            QuantizedUNets.Loaded q = QuantizedUNets.loadWithLayers(files.folder(), kernels, quant.plan());
            try {
                WeightPrecision precision = MixedPrecision.assign(files.folder(), kernels, q, config, quant.budget());
                setup = s -> s.workspace().attributes().put(WeightPrecision.class, precision);
            } catch (IOException | RuntimeException e) {
                q.close();
                throw e;
            }
            unet = q.model();
        } else if (quant != null) {
            unet = QuantizedUNets.load(files.folder(), kernels, quant.plan(), quant.activations());
            setup = quant.sessionSetup();
        } else {
            unet = UNetModel.load(files.folder(), LoadOptions.of(kernels));
        }
        boolean demo = isDemo(model) || DemoModel.isDemoConfig(Files.readAllBytes(files.configJson()));
        String name = isDemo(model) ? DemoModel.NAME : files.folder().toString();
        return new LoadedModel(name, demo, files, config, unet, setup, stored);
    }

    private static boolean isQuantizedCheckpoint(Path weights) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            return f.metadata().containsKey(QuantizedCheckpoint.METADATA_KEY);
        }
    }

    /** A session with the model's per-session settings applied. */
    UNetSession newSession() {
        UNetSession s = unet.newSession();
        sessionSetup.accept(s);
        return s;
    }

    /** The scheduler config: {@code --scheduler-config}, else the model's, else diffusers' defaults. */
    SchedulerConfig schedulerConfig(Path override) {
        if (override != null) {
            if (!Files.isRegularFile(override)) throw new UserException("scheduler config not found: " + override);
            return SchedulerConfig.load(override);
        }
        Optional<Path> own = files.schedulerConfig();
        return own.map(SchedulerConfig::load).orElseGet(SchedulerConfig::defaults);
    }

    /** {@code sample_size} of the config (an int or [h, w]), or null. */
    int[] sampleSize() {
        return sampleSize(config);
    }

    static int[] sampleSize(JsonNode config) {
        JsonNode s = config.get("sample_size");
        if (s == null || s.isNull()) return null;
        if (s.isInt()) return new int[] {s.asInt(), s.asInt()};
        if (s.isArray() && s.size() == 2) return new int[] {s.get(0).asInt(), s.get(1).asInt()};
        return null;
    }

    /** {@code num_class_embeds} when the model takes integer class labels, else 0. */
    int numClassEmbeds() {
        return numClassEmbeds(config);
    }

    static int numClassEmbeds(JsonNode config) {
        JsonNode n = config.get("num_class_embeds");
        JsonNode type = config.get("class_embed_type");
        boolean plainEmbedding = type == null || type.isNull();
        return n != null && n.isInt() && plainEmbedding ? n.asInt() : 0;
    }

    /** {@code cross_attention_dim} of a text-conditional UNet (first entry of a list), else 0. */
    int crossAttentionDim() {
        return crossAttentionDim(unet, config);
    }

    static int crossAttentionDim(UNetModel unet, JsonNode config) {
        if (!(unet instanceof UNet2DConditionModel)) return 0;
        JsonNode c = config.get("cross_attention_dim");
        if (c == null || c.isNull()) return 1280; // diffusers' default
        return c.isArray() ? c.get(0).asInt() : c.asInt();
    }

    @Override
    public void close() {
        unet.close();
    }
}
