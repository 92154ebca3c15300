package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.dnnl.CpuFeatures;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelFiles;
import dev.unet4j.core.checkpoint.ModelLocator;
import dev.unet4j.quantization.io.QuantizedCheckpoint;
import dev.unet4j.quantization.nn.QuantizedUNets;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.config.SampleSize;
import dev.unet4j.unet.config.UNetConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A model as the commands use it: the located files, the loaded UNet (float, quantized while loading by
 * {@code --quant}, or a stored quantized checkpoint) with its typed config, and its scheduler config. The files are
 * located and {@code config.json} is read once per load.
 */
final class LoadedModel implements AutoCloseable {
    final String name;
    /** The demo model or a copy of it (same config.json, e.g. quantized): the demo's guidance defaults apply. */
    final boolean demo;
    final ModelFiles files;
    final UNetModel unet;
    final Consumer<UNetSession> sessionSetup;
    final boolean storedQuantized;

    private LoadedModel(String name, boolean demo, ModelFiles files, UNetModel unet,
                        Consumer<UNetSession> sessionSetup, boolean storedQuantized) {
        this.name = name;
        this.demo = demo;
        this.files = files;
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
        UNetConfig config = UNetConfig.of(DiffusersConfig.load(files.configJson()));
        Path weights = files.weightFiles().get(0);
        boolean stored = isQuantizedCheckpoint(weights);
        UNetModel unet;
        Consumer<UNetSession> setup = s -> { };
        if (stored) {
            if (quant != null) {
                throw new UserException(files.folder() + " is already a quantized checkpoint; run it without --quant");
            }
            unet = QuantizedUNets.loadCheckpoint(files.folder(), kernels);
        } else if (quant != null) {
            QuantSpec.Loaded q = loadQuantized(files, config, quant, kernels);
            unet = q.model();
            setup = q::configure;
        } else {
            unet = UNetModel.load(files, config, LoadOptions.of(kernels));
        }
        boolean demo = isDemo(model) || DemoModel.isDemoConfig(Files.readAllBytes(files.configJson()));
        String name = isDemo(model) ? DemoModel.NAME : files.folder().toString();
        return new LoadedModel(name, demo, files, unet, setup, stored);
    }

    /** {@code --quant} by the library's parser (null: none); a bad spec is a user error naming it and the valid forms. */
    static QuantSpec parseQuant(String spec) {
        if (spec == null) return null;
        try {
            return QuantSpec.parse(spec);
        } catch (QuantSpec.InvalidQuantSpecException e) {
            throw new UserException("bad --quant '" + e.spec() + "': " + e.reason() + "\nvalid: " + QuantSpec.VALID);
        }
    }

    /** The oneDNN kernels {@code quant} runs on (bf16 compute for {@code bf16}; null: exact float32). */
    static DnnlKernels kernelsFor(QuantSpec quant) {
        DnnlKernels k = new DnnlKernels(quant == null ? DnnlKernels.Options.exact() : quant.kernelOptions());
        if (k.options().bf16Compute() && !CpuFeatures.bf16Compute() && BF16_WARNED.compareAndSet(false, true)) {
            LOG.warn("--quant bf16: this CPU ({}) has no bf16 instructions; running float32", CpuFeatures.isa());
        }
        return k;
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LoadedModel.class);
    private static final java.util.concurrent.atomic.AtomicBoolean BF16_WARNED = new java.util.concurrent.atomic.AtomicBoolean();

    /** The library loads every scheme; {@code mixed:} gets seeded calibration inputs of the config's shapes. */
    private static QuantSpec.Loaded loadQuantized(ModelFiles files, UNetConfig config, QuantSpec quant, Kernels kernels) throws IOException {
        if (quant.scheme() != QuantSpec.Scheme.MIXED) return quant.load(files, config, kernels, List.of());
        try (MixedCalibration calibration = MixedCalibration.of(config)) {
            return quant.load(files, config, kernels, calibration.inputs());
        }
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

    /** {@code sample_size} of the config as {@code {height, width}}, or null. */
    int[] sampleSize() {
        SampleSize s = unet.sampleSize();
        return s == null ? null : new int[] {s.height(), s.width()};
    }

    @Override
    public void close() {
        unet.close();
    }
}
