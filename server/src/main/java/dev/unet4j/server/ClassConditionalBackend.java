package dev.unet4j.server;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.core.checkpoint.ModelFiles;
import dev.unet4j.core.checkpoint.ModelLocator;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.pipeline.denoising.CachedRunModel;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.GenerationResult;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.StepInfo;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNet2DModel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.config.SampleSize;
import dev.unet4j.unet.config.UNet2DConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A class-conditional pixel-space {@code UNet2DModel} (the bundled demo-digits model): the prompt names the class
 * ({@link ClassPrompt}), classifier-free guidance uses the null class. Each batch of a request is one
 * {@link Pipeline#generate} call with one torch generator per image (seed + i), so every image equals
 * {@code unet4j generate --class-label K --seed S} with that image's seed. No img2img.
 */
public final class ClassConditionalBackend implements ImageBackend {
    private final String name;
    private final DnnlKernels kernels;
    private final UNet2DModel unet;
    private final SchedulerConfig schedulerConfig;
    private final int classes;
    private final int nullClass;
    private final int downscale;
    private final ModelInfo info;

    private ClassConditionalBackend(String name, DnnlKernels kernels, UNet2DModel unet, SchedulerConfig schedulerConfig,
                                    int nullClass, double guidance, int steps, String sampler) {
        this.name = name;
        this.kernels = kernels;
        this.unet = unet;
        this.schedulerConfig = schedulerConfig;
        UNet2DConfig c = unet.config();
        this.classes = c.numClassEmbeds();
        this.nullClass = nullClass;
        this.downscale = 1 << (c.blockOutChannels().length - 1);
        SampleSize size = c.sampleSize() == null ? new SampleSize(32, 32) : c.sampleSize();
        this.info = new ModelInfo(name, "class-conditional", size.height(), size.width(), steps > 0 ? steps : 25, Double.isNaN(guidance) ? 1.0 : guidance,
                sampler != null ? sampler : Samplers.unetDefault(schedulerConfig),
                Samplers.NAMES, false, "a class 0.." + (classes - 1) + " as a number or digit word (null class " + nullClass + ")");
    }

    /**
     * Loads the model in {@code dir} once, on exact float32 oneDNN kernels.
     *
     * @param spec name, folder and defaults (null class -1 = the last class)
     */
    public static ClassConditionalBackend load(ModelSpec spec) throws IOException {
        String name = spec.name();
        Path dir = spec.dir();
        int nullClass = spec.nullClass();
        ModelFiles files = ModelLocator.locate(dir);
        DnnlKernels kernels = new DnnlKernels(DnnlKernels.Options.exact());
        UNetModel model = null;
        try {
            model = UNetModel.load(files, LoadOptions.of(kernels));
            if (!(model instanceof UNet2DModel u) || u.config().numClassEmbeds() == null || u.config().classEmbedType() != null) {
                throw new IOException("model " + name + " (" + dir + "): not a class-conditional UNet2DModel (num_class_embeds with "
                        + "no class_embed_type); this backend serves class-conditional pixel models only");
            }
            if (u.outChannels() != 1 && u.outChannels() != 3) {
                throw new IOException("model " + name + " (" + dir + "): " + u.outChannels() + " output channels; images need 1 or 3");
            }
            int n = u.config().numClassEmbeds();
            int nul = nullClass < 0 ? n - 1 : nullClass;
            if (nul >= n) throw new IOException("model " + name + ": null class " + nul + " is out of range 0.." + (n - 1));
            SchedulerConfig cfg = files.schedulerConfig().map(SchedulerConfig::load).orElseGet(SchedulerConfig::defaults);
            return new ClassConditionalBackend(name, kernels, u, cfg, nul, spec.guidance(), spec.steps(), spec.sampler());
        } catch (IOException | RuntimeException e) {
            if (model != null) model.close();
            kernels.close();
            throw e;
        }
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public void validate(ImageRequest r) {
        ClassPrompt.parse(r.prompt(), classes, nullClass);
        if (!r.negativePrompt().isBlank()) {
            throw ApiException.badField("negative_prompt", "model " + name + " is class-conditional and takes no negative prompt");
        }
        if (r.promptSyntax() != null) {
            throw ApiException.badField("prompt_syntax", "model " + name + " is class-conditional; its prompt is a class label");
        }
        if (r.initImage() != null) {
            throw ApiException.badField("init_images", "model " + name + " does not do img2img (class-conditional pixel model)");
        }
        if (r.width() % downscale != 0 || r.height() % downscale != 0) {
            throw ApiException.badField("width", "model " + name + " needs sizes that are multiples of " + downscale + ", got "
                    + r.width() + "x" + r.height());
        }
        if (r.eta() != null && !"ddim".equals(sampler(r))) {
            throw ApiException.badField("eta", "eta applies to the ddim sampler only, not " + sampler(r));
        }
        if (r.cache() != null) policy(r.cache());
    }

    @Override
    public List<GeneratedImage> generate(ImageRequest r, StepListener listener) {
        int label = ClassPrompt.parse(r.prompt(), classes, nullClass);
        Pipeline pipeline = pipeline(r);
        int w = width(r);
        int h = height(r);
        int steps = steps(r);
        double g = guidance(r);
        int total = steps * r.iterations();
        List<GeneratedImage> out = new ArrayList<>();
        for (int it = 0; it < r.iterations(); it++) {
            long[] seeds = new long[r.batchSize()];
            long[] labels = new long[r.batchSize()];
            for (int i = 0; i < seeds.length; i++) {
                seeds[i] = r.seed() + (long) it * r.batchSize() + i;
                labels[i] = label;
            }
            int before = it * steps;
            Generation gen = Generation.of(steps).size(h, w).seeds(seeds).classes(labels)
                    .onStep(info -> listener.onStep(before + info.stepIndex() + 1, total, preview(info)));
            if (g > 1) gen = gen.guidance(g, nullClass);
            GenerationResult result = pipeline.generate(gen);
            Latents x = result.latents(); // [B, C, H, W] in [-1, 1]
            for (int i = 0; i < seeds.length; i++) {
                out.add(new GeneratedImage(PngWriter.encode(Image.fromSignedUnit(x.data(), x.shape(), i)), seeds[i], w, h));
            }
        }
        return out;
    }

    /**
     * Requests that differ only in prompt (class), seed and batch size: the same size, steps, sampler, eta, guidance
     * and cache, one iteration each. Their items run as one batch with one generator per item, and a batch item equals
     * its batch-1 run (RoutesTest and BatchingTest check this byte for byte).
     */
    @Override
    public boolean batchable(ImageRequest a, ImageRequest b) {
        return a.iterations() == 1 && b.iterations() == 1 && width(a) == width(b) && height(a) == height(b) && steps(a) == steps(b)
                && guidance(a) == guidance(b) && sampler(a).equals(sampler(b)) && java.util.Objects.equals(a.eta(), b.eta())
                && java.util.Objects.equals(a.cache(), b.cache()) && a.initImage() == null && b.initImage() == null;
    }

    @Override
    public List<List<GeneratedImage>> generateBatch(List<ImageRequest> requests, List<StepListener> listeners) {
        ImageRequest first = requests.get(0);
        for (ImageRequest r : requests) {
            if (!batchable(first, r)) throw new IllegalArgumentException("requests that cannot share a batch");
        }
        int items = requests.stream().mapToInt(ImageRequest::batchSize).sum();
        long[] seeds = new long[items];
        long[] labels = new long[items];
        int[] offset = new int[requests.size()];
        for (int k = 0, n = 0; k < requests.size(); k++) {
            ImageRequest r = requests.get(k);
            offset[k] = n;
            int label = ClassPrompt.parse(r.prompt(), classes, nullClass);
            for (int i = 0; i < r.batchSize(); i++, n++) {
                seeds[n] = r.seed() + i;
                labels[n] = label;
            }
        }
        boolean[] stopped = new boolean[requests.size()];
        int steps = steps(first);
        Generation gen = Generation.of(steps).size(height(first), width(first)).seeds(seeds).classes(labels).onStep(info -> {
            boolean any = false;
            for (int k = 0; k < listeners.size(); k++) {
                if (!stopped[k] && !listeners.get(k).onStep(info.stepIndex() + 1, steps, preview(info, offset[k]))) stopped[k] = true;
                any |= !stopped[k];
            }
            return any;
        });
        if (guidance(first) > 1) gen = gen.guidance(guidance(first), nullClass);
        Latents x = pipeline(first).generate(gen).latents(); // [items, C, H, W]
        List<List<GeneratedImage>> out = new ArrayList<>();
        for (int k = 0; k < requests.size(); k++) {
            List<GeneratedImage> mine = new ArrayList<>();
            for (int i = 0; i < requests.get(k).batchSize(); i++) {
                int n = offset[k] + i;
                mine.add(new GeneratedImage(PngWriter.encode(Image.fromSignedUnit(x.data(), x.shape(), n)), seeds[n], width(first), height(first)));
            }
            out.add(mine);
        }
        return out;
    }

    private int width(ImageRequest r) {
        return r.width() > 0 ? r.width() : info.width();
    }

    private int height(ImageRequest r) {
        return r.height() > 0 ? r.height() : info.height();
    }

    private int steps(ImageRequest r) {
        return r.steps() > 0 ? r.steps() : info.steps();
    }

    private double guidance(ImageRequest r) {
        return Double.isNaN(r.guidance()) ? info.guidance() : r.guidance();
    }

    private Pipeline pipeline(ImageRequest r) {
        Pipeline pipeline = Pipeline.of(unet, sampler(r, sampler(r)));
        if (r.cache() != null) pipeline = pipeline.withRunModel(CachedRunModel.factory(policy(r.cache())));
        return pipeline;
    }

    /** The first image's denoised prediction of this step, encoded only if someone asks. */
    private static Supplier<byte[]> preview(StepInfo info) {
        return preview(info, 0);
    }

    /** Batch item {@code item}'s denoised prediction of this step, encoded only if someone asks. */
    private static Supplier<byte[]> preview(StepInfo info, int item) {
        Latents x0 = info.predictedX0() != null ? info.predictedX0() : info.latents();
        int[] shape = x0.shape().clone();
        int per = x0.data().length / shape[0];
        float[] data = java.util.Arrays.copyOfRange(x0.data(), item * per, (item + 1) * per); // kept past this step
        shape[0] = 1;
        return () -> PngWriter.encode(Image.fromSignedUnit(data, shape, 0));
    }

    private String sampler(ImageRequest r) {
        return r.sampler() != null ? r.sampler() : info.defaultSampler();
    }

    private Sampler sampler(ImageRequest r, String samplerName) {
        SamplerOptions o = SamplerOptions.of(schedulerConfig).withEta(r.eta() == null ? 0.0 : r.eta());
        if (schedulerConfig.className().startsWith("EDM")) o = o.withEdmPreconditioning(schedulerConfig.number("sigma_data", 0.5));
        return Samplers.byName(samplerName, o);
    }

    private static CachePolicy policy(String spec) {
        try {
            return CachePolicies.parse(spec.strip());
        } catch (IllegalArgumentException e) {
            throw ApiException.badField("cache", e.getMessage());
        }
    }

    @Override
    public void close() {
        unet.close();
        kernels.close();
    }
}
