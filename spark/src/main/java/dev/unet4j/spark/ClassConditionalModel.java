package dev.unet4j.spark;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelFiles;
import dev.unet4j.core.checkpoint.ModelLocator;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.pipeline.denoising.CachedRunModel;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.SamplingCancelledException;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.config.SampleSize;
import dev.unet4j.unet.config.UNetConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * A class-conditional pixel UNet folder ({@code num_class_embeds}, 1 or 3 output channels, e.g. {@code demo-digits})
 * on an executor, run through the samplers' {@link Pipeline} as {@code unet4j generate --class-label K --seed S}
 * does: noise from {@code torch.manual_seed(S)}, guidance against the null class. Rows of equal settings run as one
 * batch with one generator per row (diffusers' list of generators), so each image is the row's own.
 */
final class ClassConditionalModel implements ImageModel {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ClassConditionalModel.class);
    /** Rows this JVM generated inside multi-row batches (a metric; the tests check that batching happens). */
    static final java.util.concurrent.atomic.AtomicLong BATCHED_ROWS = new java.util.concurrent.atomic.AtomicLong();

    private final UNetModel unet;
    private final DnnlKernels kernels;
    private final Consumer<UNetSession> sessionSetup;
    private final SchedulerConfig schedulerConfig;
    private final CachePolicy cache;
    private final int numClasses;
    private final SampleSize sampleSize;
    private final ExecutorThreads threads;

    private ClassConditionalModel(UNetModel unet, DnnlKernels kernels, Consumer<UNetSession> sessionSetup,
                                  SchedulerConfig schedulerConfig, CachePolicy cache, int numClasses, SampleSize sampleSize,
                                  ExecutorThreads threads) {
        this.unet = unet;
        this.kernels = kernels;
        this.sessionSetup = sessionSetup;
        this.schedulerConfig = schedulerConfig;
        this.cache = cache;
        this.numClasses = numClasses;
        this.sampleSize = sampleSize;
        this.threads = threads;
    }

    static ClassConditionalModel load(Path dir, ModelKey key, ExecutorThreads threads) throws IOException {
        ModelFiles files = ModelLocator.locate(dir);
        UNetConfig config = UNetConfig.of(DiffusersConfig.load(files.configJson()));
        List<String> problems = new ArrayList<>();
        if (config.classLabelCount() == 0) {
            problems.add("it has no plain class embedding (num_class_embeds); give a Stable Diffusion pipeline folder"
                    + " (model_index.json) for prompts or a class-conditional UNet folder");
        }
        SampleSize size = config.sampleSize();
        if (size == null) problems.add("config.json has no sample_size");
        int out = config.outChannels();
        if (out != 1 && out != 3) problems.add("out_channels is " + out + "; PNG images need a pixel model with 1 or 3 channels");
        if (!problems.isEmpty()) throw new IOException(files.configJson() + ": " + String.join("; ", problems));
        CachePolicy cache = key.cachePolicy() == null ? CachePolicies.NONE : CachePolicies.parse(key.cachePolicy());
        QuantSpec q = key.quantization() == null ? null : QuantSpec.parse(key.quantization());
        if (q != null && q.scheme() == QuantSpec.Scheme.MIXED) {
            throw new IllegalArgumentException("quantization '" + q.text() + "' needs calibration inputs; use a fixed scheme");
        }
        SchedulerConfig sched = files.schedulerConfig().map(SchedulerConfig::load).orElseGet(SchedulerConfig::defaults);
        DnnlKernels kernels = ImageModel.kernels(q, threads);
        try {
            UNetModel unet;
            Consumer<UNetSession> setup = s -> { };
            if (q != null && q.quantized()) {
                QuantSpec.Loaded l = q.load(files, config, kernels, List.of());
                unet = l.model();
                setup = l::configure;
            } else {
                unet = UNetModel.load(files, config, LoadOptions.of(kernels));
            }
            return new ClassConditionalModel(unet, kernels, setup, sched, cache, config.classLabelCount(), size, threads);
        } catch (IOException | RuntimeException e) {
            kernels.close();
            throw e;
        }
    }

    /** The model's scheduler class's sampler (ddim for classes without one), or the job's. */
    String samplerName(GeneratorSettings s) {
        return s.sampler() != null ? s.sampler().toLowerCase(Locale.ROOT) : Samplers.forSchedulerClass(schedulerConfig);
    }

    @Override
    public Object batchKey(RowRequest r) {
        return List.of(r.steps(), r.guidance(), r.height(), r.width());
    }

    @Override
    public List<RowResult> generate(List<RowRequest> rows, GeneratorSettings s) {
        RowResult[] out = new RowResult[rows.size()];
        List<Integer> valid = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            RowRequest r = rows.get(i);
            try {
                check(r, s);
                valid.add(i);
            } catch (RuntimeException e) {
                out[i] = RowResult.failed(r.seed(), null, 0, e);
            }
        }
        if (valid.size() > 1) {
            long t0 = System.nanoTime();
            try {
                List<RowRequest> batch = valid.stream().map(rows::get).toList();
                List<Image> images = run(batch, s);
                long each = TextToImageModel.millis(t0) / batch.size();
                for (int k = 0; k < batch.size(); k++) {
                    out[valid.get(k)] = new RowResult(PngWriter.encode(images.get(k)), batch.get(k).seed(),
                            settings(batch.get(k), s), each, null);
                }
                BATCHED_ROWS.addAndGet(batch.size());
                valid.clear();
            } catch (SamplingCancelledException killed) {
                throw killed; // the task was killed (ComputePool interrupted this thread): no row failed
            } catch (RuntimeException batchFailed) {
                // each row alone, so a failure is reported on its own row
                LOG.warn("a batch of {} rows failed ({}); generating them one by one", valid.size(), RowResult.describe(batchFailed));
            }
        }
        for (int i : valid) {
            RowRequest r = rows.get(i);
            long t0 = System.nanoTime();
            try {
                out[i] = new RowResult(PngWriter.encode(run(List.of(r), s).get(0)), r.seed(), settings(r, s), TextToImageModel.millis(t0), null);
            } catch (SamplingCancelledException killed) {
                throw killed;
            } catch (RuntimeException e) {
                out[i] = RowResult.failed(r.seed(), settings(r, s), TextToImageModel.millis(t0), e);
            }
        }
        return Arrays.asList(out);
    }

    private void check(RowRequest r, GeneratorSettings s) {
        if (r.prompt() != null) throw new IllegalArgumentException("prompt: this model is class-conditional (give class_label, not a prompt)");
        if (r.initImage() != null) throw new IllegalArgumentException("init_image: img2img needs a Stable Diffusion pipeline folder");
        if (r.classLabel() == null) throw new IllegalArgumentException("class_label is null: this model is class-conditional (0.." + (numClasses - 1) + ")");
        if (r.classLabel() < 0 || r.classLabel() >= numClasses) {
            throw new IllegalArgumentException("class_label " + r.classLabel() + " is out of range 0.." + (numClasses - 1));
        }
        if (r.height() < 0 || r.width() < 0) throw new IllegalArgumentException("height and width must be >= 0, got " + r.height() + "x" + r.width());
        if (!Double.isFinite(r.guidance()) || r.guidance() < 0) throw new IllegalArgumentException("guidance must be a finite number >= 0, got " + r.guidance());
        if (r.steps() < 1) throw new IllegalArgumentException("steps must be >= 1, got " + r.steps());
        nullClass(s);
    }

    private int nullClass(GeneratorSettings s) {
        int nul = s.nullClass() >= 0 ? s.nullClass() : numClasses - 1;
        if (nul >= numClasses) throw new IllegalArgumentException("nullClass " + nul + " is out of range 0.." + (numClasses - 1));
        return nul;
    }

    /** One pipeline run over rows of equal settings: one seed and label per row. */
    private List<Image> run(List<RowRequest> rows, GeneratorSettings s) {
        RowRequest first = rows.get(0);
        long[] labels = rows.stream().mapToLong(RowRequest::classLabel).toArray();
        int h = first.height() > 0 ? first.height() : sampleSize.height();
        int w = first.width() > 0 ? first.width() : sampleSize.width();
        Generation g = Generation.of(first.steps()).size(h, w);
        // one row: the CLI's single generator; several: one generator per row, item i equal to row i alone
        g = rows.size() == 1 ? g.noise(NoiseSource.seeded(first.seed()), 1) : g.seeds(rows.stream().mapToLong(RowRequest::seed).toArray());
        g = g.classes(labels);
        if (first.guidance() > 1) g = g.guidance(first.guidance(), nullClass(s));
        Pipeline p = Pipeline.of(unet, Samplers.byName(samplerName(s), SamplerOptions.of(schedulerConfig))).withSessionSetup(sessionSetup);
        if (cache != CachePolicies.NONE) p = p.withRunModel(CachedRunModel.factory(cache));
        Latents x = p.generate(g).latents(); // [B, C, H, W] in [-1, 1]
        return Image.batchFromSignedUnit(x.data(), x.shape());
    }

    private String settings(RowRequest r, GeneratorSettings s) {
        return SettingsJson.of(samplerName(s), r, r.height() > 0 ? r.height() : sampleSize.height(), r.width() > 0 ? r.width() : sampleSize.width(), s, false, threads);
    }

    @Override
    public void close() {
        try {
            unet.close();
        } finally {
            kernels.close();
        }
    }
}
