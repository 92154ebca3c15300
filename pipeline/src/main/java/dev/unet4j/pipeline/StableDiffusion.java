package dev.unet4j.pipeline;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachedRunModel;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.model.DiffusersConfig;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.StepCallback;
import dev.unet4j.samplers.TorchGenerator;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.pipeline.Generation;
import dev.unet4j.samplers.pipeline.GenerationResult;
import dev.unet4j.samplers.pipeline.Pipeline;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.vae.AutoencoderKL;
import dev.unet4j.vae.LatentDistribution;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * A Stable Diffusion 1.x/2.x pipeline folder, loaded once: diffusers' {@code StableDiffusionPipeline} and
 * {@code StableDiffusionImg2ImgPipeline} with the same numbers. Immutable and thread-safe; every
 * {@link #generate} call works in its own sessions, so one instance serves many threads. Closing it frees the
 * weights (and the oneDNN backend it created).
 *
 * <pre>{@code
 * try (StableDiffusion sd = StableDiffusion.load(Path.of("stable-diffusion-v1-5"), PipelineOptions.defaults())) {
 *     GeneratedImages out = sd.generate(TextToImage.of("a photo of an astronaut").steps(25).seed(42));
 *     PngWriter.write(out.images().get(0), Path.of("astronaut.png"));
 * }
 * }</pre>
 */
public final class StableDiffusion implements AutoCloseable {
    private final ModelIndex index;
    private final PromptEncoder prompts;
    private final UNetModel unet;
    private final Consumer<UNetSession> sessionSetup;
    private final AutoencoderKL vae;
    private final SchedulerConfig schedulerConfig;
    private final VaeImageProcessor images;
    private final PipelineOptions options;
    private final DnnlKernels ownedKernels;
    private final int defaultSize;

    private StableDiffusion(ModelIndex index, PromptEncoder prompts, UNetModel unet, Consumer<UNetSession> sessionSetup,
                            AutoencoderKL vae, SchedulerConfig schedulerConfig, PipelineOptions options,
                            DnnlKernels ownedKernels, int defaultSize) {
        this.index = index;
        this.prompts = prompts;
        this.unet = unet;
        this.sessionSetup = sessionSetup;
        this.vae = vae;
        this.schedulerConfig = schedulerConfig;
        this.images = new VaeImageProcessor(vae.scaleFactor());
        this.options = options;
        this.ownedKernels = ownedKernels;
        this.defaultSize = defaultSize;
    }

    /**
     * Loads the pipeline in {@code dir} ({@code model_index.json}, {@code tokenizer/}, {@code text_encoder/},
     * {@code unet/}, {@code vae/}, {@code scheduler/}). Everything that makes the folder unusable is reported in one
     * exception; partially loaded components are freed.
     */
    public static StableDiffusion load(Path dir, PipelineOptions options) throws IOException {
        ModelIndex index = ModelIndex.load(dir);
        index.requireStableDiffusion();
        QuantSpec q = options.quant();
        if (q != null && q.scheme() == QuantSpec.Scheme.MIXED) {
            throw new IllegalArgumentException("quantization '" + q.text() + "' needs calibration inputs; pipelines take the"
                    + " fixed schemes (" + QuantSpec.VALID + " without mixed:)");
        }
        DnnlKernels owned = options.kernels() == null
                ? new DnnlKernels(q == null ? DnnlKernels.Options.exact() : q.kernelOptions()) : null;
        Kernels kernels = owned != null ? owned : options.kernels();
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            Path schedulerFile = dir.resolve("scheduler/scheduler_config.json");
            if (!Files.isRegularFile(schedulerFile)) throw new IOException(schedulerFile + ": missing");
            SchedulerConfig sched = SchedulerConfig.load(schedulerFile);
            Samplers.forSchedulerClass(sched); // an unknown scheduler class fails at load, not at the first generate
            PromptEncoder prompts = PromptEncoder.load(dir, kernels);
            loaded.add(prompts);
            UNetModel unet;
            Consumer<UNetSession> setup = s -> { };
            Path unetDir = dir.resolve("unet");
            if (q != null && q.quantized()) {
                QuantSpec.Loaded l = q.load(unetDir, kernels, List.of());
                unet = l.model();
                setup = l::configure;
            } else {
                unet = UNetModel.load(unetDir, LoadOptions.of(kernels));
            }
            loaded.add(unet);
            if (!(unet instanceof UNet2DConditionModel)) {
                throw new IOException(unetDir + ": the pipeline's UNet must be a UNet2DConditionModel");
            }
            AutoencoderKL vae = AutoencoderKL.load(dir.resolve("vae"), kernels);
            loaded.add(vae);
            int sample = DiffusersConfig.load(unetDir.resolve("config.json")).getInt("sample_size", 64);
            return new StableDiffusion(index, prompts, unet, setup, vae, sched, options, owned, sample * vae.scaleFactor());
        } catch (IOException | RuntimeException e) {
            for (int i = loaded.size() - 1; i >= 0; i--) {
                try {
                    loaded.get(i).close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (owned != null) owned.close();
            throw e;
        }
    }

    public ModelIndex modelIndex() {
        return index;
    }

    public SchedulerConfig schedulerConfig() {
        return schedulerConfig;
    }

    public PromptEncoder promptEncoder() {
        return prompts;
    }

    public AutoencoderKL vae() {
        return vae;
    }

    public UNetModel unet() {
        return unet;
    }

    /** Image side of the default size: the UNet's sample_size times the VAE scale factor (512 for SD 1.5). */
    public int defaultSize() {
        return defaultSize;
    }

    /** The sampler a request runs: its own scheduler name, else the one the scheduler config's class selects. */
    public Sampler sampler(TextToImage request) {
        return Samplers.byName(samplerName(request), SamplerOptions.of(schedulerConfig));
    }

    /** The name of the sampler a request runs (see {@link #sampler}). */
    public String samplerName(TextToImage request) {
        return request.scheduler() != null ? request.scheduler().toLowerCase(Locale.ROOT) : Samplers.forSchedulerClass(schedulerConfig);
    }

    /** Encodes the request's prompts (and the negative one when guidance runs) as diffusers' {@code encode_prompt}. */
    public PromptEmbeddings encodePrompt(TextToImage request) {
        TextConditioning cond = prompts.encode(request.prompt(), request.clipSkip());
        TextConditioning uncond = request.classifierFree() ? prompts.encode(request.negativeOrEmpty(), request.clipSkip()) : null;
        return new PromptEmbeddings(cond, uncond);
    }

    /** Generates the request's images. */
    public GeneratedImages generate(TextToImage request) {
        long t0 = System.nanoTime();
        return generate(request, encodePrompt(request), t0);
    }

    /**
     * Generates from precomputed prompt embeddings (diffusers' {@code prompt_embeds} / {@code negative_prompt_embeds}):
     * {@code [1, T, D]} each; the negative ones are needed when the request's guidance is above 1.
     */
    public GeneratedImages generate(TextToImage request, PromptEmbeddings embeddings) {
        return generate(request, embeddings, System.nanoTime());
    }

    private GeneratedImages generate(TextToImage request, PromptEmbeddings embeddings, long t0) {
        int k = request.numImages();
        if (request.classifierFree() && embeddings.negative() == null) {
            throw new IllegalArgumentException("guidance " + request.guidanceScale() + " needs negative prompt embeddings");
        }
        TextConditioning cond = repeat(embeddings.prompt(), k);
        int f = vae.scaleFactor();
        Generation gen = Generation.of(request.steps()).conditioning(cond);
        List<TorchGenerator> generators = generators(request);
        int h;
        int w;
        if (request.initImage() != null) {
            Latents pixels = images.preprocess(request.initImage(), 0, 0);
            h = pixels.shape()[2];
            w = pixels.shape()[3];
            Latents init = encodeInitImage(pixels, generators, k);
            gen = gen.initLatents(init, request.strength());
        } else {
            h = request.height() > 0 ? request.height() : defaultSize;
            w = request.width() > 0 ? request.width() : defaultSize;
            if (h % 8 != 0 || w % 8 != 0) {
                throw new IllegalArgumentException("height and width have to be divisible by 8, got " + h + "x" + w);
            }
        }
        gen = gen.size(h / f, w / f).noise(continuing(generators), k);
        if (request.classifierFree()) {
            gen = gen.guidance(request.guidanceScale(), repeat(embeddings.negative(), k)).guidanceRescale(request.guidanceRescale());
        }
        gen = gen.onStep(callback(request.progress()));
        Pipeline p = Pipeline.of(unet, sampler(request)).withSessionSetup(sessionSetup);
        if (options.cache() != CachePolicies.NONE) p = p.withRunModel(CachedRunModel.factory(options.cache()));
        GenerationResult r = p.generate(gen);
        float[] decoded = decode(r.latents());
        float[] unit = VaeImageProcessor.denormalize(decoded);
        int b = r.latents().batch();
        int hh = h, ww = w;
        float[] nhwc = new float[unit.length];
        List<Image> out = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            byte[] px = new byte[hh * ww * 3];
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < hh; y++) {
                    for (int x = 0; x < ww; x++) {
                        float v = unit[((i * 3 + c) * hh + y) * ww + x];
                        int o = ((i * hh + y) * ww + x) * 3 + c;
                        nhwc[o] = v;
                        px[o - i * hh * ww * 3] = (byte) (int) Math.rint(v * 255f);
                    }
                }
            }
            out.add(new Image(ww, hh, 3, px));
        }
        return new GeneratedImages(new Latents(nhwc, new int[] {b, hh, ww, 3}), out, r.latents(), r.unetCalls(),
                System.nanoTime() - t0);
    }

    /** One generator for the run, or one per image (the request's seeds). */
    private static List<TorchGenerator> generators(TextToImage request) {
        long[] seeds = request.seeds();
        if (seeds == null) return List.of(new TorchGenerator(request.seed()));
        List<TorchGenerator> g = new ArrayList<>(seeds.length);
        for (long s : seeds) g.add(new TorchGenerator(s));
        return g;
    }

    /**
     * img2img's {@code prepare_latents} image half: encode, draw {@code latent_dist.sample(generator)} (each
     * generator's first draw), scale; one generator's sample is repeated for the images per prompt, a list of
     * generators draws one sample per image.
     */
    private Latents encodeInitImage(Latents pixels, List<TorchGenerator> generators, int k) {
        try (Tensor in = Tensor.of(pixels.data(), pixels.shape());
             LatentDistribution d = vae.encode(in)) {
            Latents[] parts = new Latents[k];
            for (int i = 0; i < k; i++) {
                if (generators.size() == 1 && i > 0) {
                    parts[i] = parts[0];
                    continue;
                }
                try (Tensor sample = d.sample(generators.get(i)); Tensor scaled = vae.scaleLatents(sample)) {
                    parts[i] = new Latents(scaled.toFloatArray(), toInt(scaled.shape()));
                }
            }
            return Latents.concat(parts);
        }
    }

    /** {@code vae.decode(latents / scaling_factor + shift)}, {@code [B, 3, H, W]} before post-processing. */
    public float[] decode(Latents latents) {
        try (Tensor z = Tensor.of(latents.data(), latents.shape());
             Tensor unscaled = vae.unscaleLatents(z);
             Tensor image = vae.decode(unscaled)) {
            return image.toFloatArray();
        }
    }

    /** Decoded 8-bit pictures of latents (previews). */
    List<Image> pictures(Latents latents) {
        float[] unit = VaeImageProcessor.denormalize(decode(latents));
        int b = latents.batch(), f = vae.scaleFactor();
        int h = latents.shape()[2] * f, w = latents.shape()[3] * f;
        float[] scaled = new float[unit.length];
        for (int i = 0; i < unit.length; i++) scaled[i] = unit[i] * 2 - 1;
        return Image.batchFromSignedUnit(scaled, new int[] {b, 3, h, w});
    }

    private StepCallback callback(TextToImage.Progress progress) {
        if (progress == TextToImage.Progress.NONE) return StepCallback.NONE;
        return info -> progress.onStep(new StepProgress(info.stepIndex(), info.totalSteps(), info.timestep(),
                info.latents(), info.predictedX0(), this::pictures));
    }

    /**
     * The generators' later draws (the initial noise, then step noise) as a noise source: one tensor per draw from a
     * single generator, or item i from generator i ({@code randn_tensor} with a list of generators).
     */
    private static NoiseSource continuing(List<TorchGenerator> gens) {
        return new NoiseSource() {
            @Override
            public Latents initial(int[] shape) {
                return draw(shape);
            }

            @Override
            public Latents step(int stepIndex, int[] shape) {
                return draw(shape);
            }

            private Latents draw(int[] shape) {
                if (gens.size() == 1) return gens.get(0).randn(shape);
                int[] item = shape.clone();
                item[0] = 1;
                Latents[] parts = new Latents[gens.size()];
                for (int i = 0; i < parts.length; i++) parts[i] = gens.get(i).randn(item);
                return Latents.concat(parts);
            }
        };
    }

    /** {@code prompt_embeds.repeat(1, k, 1).view(k, T, D)}: the one prompt's embeddings for every image. */
    private static TextConditioning repeat(TextConditioning c, int k) {
        if (c.shape()[0] != 1) throw new IllegalArgumentException("prompt embeddings must be [1, T, D], got " + java.util.Arrays.toString(c.shape()));
        if (k == 1) return c;
        TextConditioning out = c;
        for (int i = 1; i < k; i++) out = (TextConditioning) out.concat(c);
        return out;
    }

    private static int[] toInt(long[] s) {
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) out[i] = Math.toIntExact(s[i]);
        return out;
    }

    @Override
    public void close() {
        try {
            vae.close();
        } finally {
            try {
                unet.close();
            } finally {
                try {
                    prompts.close();
                } finally {
                    if (ownedKernels != null) ownedKernels.close();
                }
            }
        }
    }
}
