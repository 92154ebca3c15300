package dev.unet4j.pipeline;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.checkpoint.SingleFileComponents;
import dev.unet4j.pipeline.denoising.CachedRunModel;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.GenerationResult;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.pipeline.denoising.RunModel;
import dev.unet4j.pipeline.lora.LayerCatalog;
import dev.unet4j.pipeline.lora.LoraAdapters;
import dev.unet4j.pipeline.lora.LoraException;
import dev.unet4j.pipeline.lora.LoraFile;
import dev.unet4j.pipeline.lora.LoraSet;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.StepCallback;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LayerAdapter;
import dev.unet4j.unet.LayerFactory;
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
import java.util.Map;
import java.util.function.Consumer;

/**
 * A Stable Diffusion 1.x/2.x or SDXL pipeline folder, loaded once: diffusers' {@code StableDiffusionPipeline},
 * {@code StableDiffusionImg2ImgPipeline}, {@code StableDiffusionInpaintPipeline} and their SDXL counterparts
 * ({@code StableDiffusionXL[Img2Img|Inpaint]Pipeline}, which share the SD code paths and differ in the prompt
 * encoding and the {@link AddTimeIds}) with the same numbers. Immutable and thread-safe; every
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
    private final PromptEncoder prompts2; // SDXL's second tokenizer and text encoder, else null
    private final UNetModel unet;
    private final Consumer<UNetSession> sessionSetup;
    private final AutoencoderKL vae;
    private final SchedulerConfig schedulerConfig;
    private final VaeImageProcessor images;
    private final PipelineOptions options;
    private final DnnlKernels ownedKernels;
    private final int defaultSize;
    private final LayerCatalog unetLayers;
    private final LayerCatalog textLayers;
    private final SwitchedUNets switched; // A-SDM's second UNet, or null

    private StableDiffusion(ModelIndex index, PromptEncoder prompts, PromptEncoder prompts2, UNetModel unet,
                            Consumer<UNetSession> sessionSetup, AutoencoderKL vae, SchedulerConfig schedulerConfig,
                            PipelineOptions options, DnnlKernels ownedKernels, int defaultSize, LayerCatalog unetLayers,
                            LayerCatalog textLayers, SwitchedUNets switched) {
        this.index = index;
        this.prompts = prompts;
        this.prompts2 = prompts2;
        this.unet = unet;
        this.sessionSetup = sessionSetup;
        this.vae = vae;
        this.schedulerConfig = schedulerConfig;
        this.images = new VaeImageProcessor(vae.scaleFactor());
        this.options = options;
        this.ownedKernels = ownedKernels;
        this.defaultSize = defaultSize;
        this.unetLayers = unetLayers;
        this.textLayers = textLayers;
        this.switched = switched;
    }

    /**
     * Loads the pipeline in {@code dir} ({@code model_index.json}, {@code tokenizer/}, {@code text_encoder/},
     * {@code unet/}, {@code vae/}, {@code scheduler/}). Everything that makes the folder unusable is reported in one
     * exception; partially loaded components are freed.
     */
    public static StableDiffusion load(Path dir, PipelineOptions options) throws IOException {
        if (Files.isRegularFile(dir)) return loadSingleFile(dir, null, options);
        ModelIndex index = ModelIndex.load(dir);
        index.requireStableDiffusion();
        QuantSpec q = options.quant();
        DnnlKernels owned = ownedKernels(options);
        Kernels kernels = owned != null ? owned : options.kernels();
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            Path schedulerFile = dir.resolve("scheduler/scheduler_config.json");
            if (!Files.isRegularFile(schedulerFile)) throw new IOException(schedulerFile + ": missing");
            SchedulerConfig sched = SchedulerConfig.load(schedulerFile);
            Samplers.forSchedulerClass(sched); // an unknown scheduler class fails at load, not at the first generate
            LayerCatalog textLayers = new LayerCatalog();
            LayerCatalog unetLayers = new LayerCatalog();
            PromptEncoder prompts = PromptEncoder.load(dir, LoadOptions.of(kernels).withLayerFactory(k -> textLayers.recording(LayerFactory.of(k))));
            loaded.add(prompts);
            PromptEncoder prompts2 = null;
            if (index.isXl()) {
                prompts2 = PromptEncoder.load(dir, "tokenizer_2", "text_encoder_2", kernels);
                loaded.add(prompts2);
            }
            Path unetDir = dir.resolve("unet");
            QuantizedLayers qu = QuantizedLayers.of(q, kernels);
            UNetModel unet = UNetModel.load(unetDir, LoadOptions.of(kernels).withLayerFactory(k -> unetLayers.recording(qu.factory(k))));
            Consumer<UNetSession> setup = qu.sessionSetup();
            loaded.add(unet);
            if (!(unet instanceof UNet2DConditionModel)) {
                throw new IOException(unetDir + ": the pipeline's UNet must be a UNet2DConditionModel");
            }
            SwitchedUNets sw = loadSwitch(options, unet, dir, sched, kernels);
            if (sw != null) loaded.add(sw);
            AutoencoderKL vae = AutoencoderKL.load(dir.resolve("vae"), kernels);
            loaded.add(vae);
            int sample = DiffusersConfig.load(unetDir.resolve("config.json")).getInt("sample_size", 64);
            return new StableDiffusion(index, prompts, prompts2, unet, setup, vae, sched, options, owned, sample * vae.scaleFactor(),
                    unetLayers, textLayers, sw);
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

    /**
     * Loads a single-file checkpoint in the original LDM / A1111 layout ({@code .safetensors}; pickle files are
     * refused), as diffusers' {@code from_single_file(file, config=configDir)}: the architecture (SD 1.x, 2.x, SDXL
     * base) is detected from the keys; {@code configDir} (a diffusers pipeline folder, or one with some of its component folders) gives the
     * tokenizer and overrides the built-in component configs (needed for models whose sizes the keys cannot say).
     * See {@link SingleFileComponents}.
     */
    public static StableDiffusion loadSingleFile(Path file, Path configDir, PipelineOptions options) throws IOException {
        QuantSpec q = options.quant();
        DnnlKernels owned = ownedKernels(options);
        Kernels kernels = owned != null ? owned : options.kernels();
        try {
            SingleFileComponents c = SingleFileComponents.load(file, configDir, kernels, q);
            SwitchedUNets sw;
            try {
                Samplers.forSchedulerClass(c.scheduler());
                sw = loadSwitch(options, c.unet(), file, c.scheduler(), kernels);
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
            boolean xl = c.textEncoder2() != null;
            ModelIndex index = new ModelIndex(file, xl ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline", Map.of(), c.forceZerosForEmptyPrompt(), false);
            return new StableDiffusion(index, new PromptEncoder(c.tokenizer(), c.textEncoder()),
                    xl ? new PromptEncoder(c.tokenizer2(), c.textEncoder2()) : null, c.unet(), c.sessionSetup(),
                    c.vae(), c.scheduler(), options, owned, c.sampleSize() * c.vae().scaleFactor(), c.unetLayers(), c.textLayers(), sw);
        } catch (IOException | RuntimeException e) {
            if (owned != null) owned.close();
            throw e;
        }
    }

    /**
     * The kernels the pipeline creates and closes itself: none when the options bring their own, else oneDNN with the
     * quantization's options. A scheme that needs calibration inputs is refused first.
     */
    private static DnnlKernels ownedKernels(PipelineOptions options) {
        QuantSpec q = options.quant();
        QuantizedLayers.requireFixed(q);
        return options.kernels() == null ? new DnnlKernels(q == null ? DnnlKernels.Options.exact() : q.kernelOptions()) : null;
    }

    /** The switch UNet of {@code options} (quantized as the main one), checked against {@code main}; null without one. */
    private static SwitchedUNets loadSwitch(PipelineOptions options, UNetModel main, Path mainFolder, SchedulerConfig sched,
                                            Kernels kernels) throws IOException {
        if (options.unetSwitch() == null) return null;
        if (options.cache() != CachePolicies.NONE) {
            throw new IllegalArgumentException("feature caching and UNet switching together are not supported (a cache plans the calls of one UNet)");
        }
        QuantizedLayers qu = QuantizedLayers.of(options.quant(), kernels);
        return SwitchedUNets.load(options.unetSwitch(), main, mainFolder, sched, LoadOptions.of(kernels).withLayerFactory(qu::factory));
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
        return encodePrompt(request, null);
    }

    private PromptEmbeddings encodePrompt(TextToImage request, LayerAdapter text) {
        if (prompts2 != null) {
            if (text != null) throw new IllegalArgumentException("LoRA on SDXL text encoders is not supported yet (UNet LoRA is)");
            return encodePromptXl(request);
        }
        PromptSyntax syntax = request.promptSyntax();
        TextConditioning cond = prompts.encode(request.prompt(), request.clipSkip(), text, syntax);
        if (!request.classifierFree()) return new PromptEmbeddings(cond, null);
        TextConditioning uncond = prompts.encode(request.negativeOrEmpty(), request.clipSkip(), text, syntax);
        if (syntax == PromptSyntax.TRUNCATE) return new PromptEmbeddings(cond, uncond);
        TextConditioning[] same = PromptEncoder.padToSameLength(cond, uncond, prompts.encode("", request.clipSkip(), text, syntax));
        return new PromptEmbeddings(same[0], same[1]);
    }

    /**
     * Generates the request's images with {@code loras} applied to this generation only (UNet and text encoder), as
     * low-rank side paths: the shared weights are not changed, so generations with other sets (or none) may run at
     * the same time, and a quantized UNet keeps its quantized weights. Every mismatch between a LoRA and this
     * model is reported in one {@link LoraException} before anything runs.
     */
    public GeneratedImages generate(TextToImage request, LoraSet loras) {
        if (loras == null || loras.isEmpty()) return generate(request);
        long t0 = System.nanoTime();
        try (LoraAdapters a = loraAdapters(loras)) {
            return generate(request, encodePrompt(request, a.adapter(LoraFile.Component.TEXT_ENCODER)), t0,
                    a.adapter(LoraFile.Component.UNET));
        }
    }

    /** {@code loras} prepared as side paths for this pipeline's UNet and text encoder (close after use). */
    public LoraAdapters loraAdapters(LoraSet loras) {
        return LoraAdapters.sidePath(loras, unet.kernels(), Map.of(LoraFile.Component.UNET, unetLayers,
                LoraFile.Component.TEXT_ENCODER, textLayers));
    }

    /** The UNet's and text encoder's layers (what LoRAs may target). */
    public Map<LoraFile.Component, LayerCatalog> layers() {
        return Map.of(LoraFile.Component.UNET, unetLayers, LoraFile.Component.TEXT_ENCODER, textLayers);
    }

    /**
     * SDXL's {@code encode_prompt}: each encoder's {@code hidden_states[-2]} concatenated along the features, the
     * second encoder's {@code text_embeds} pooled; without a negative prompt and with
     * {@code force_zeros_for_empty_prompt}, zeros as the negative embeddings.
     */
    private PromptEmbeddings encodePromptXl(TextToImage request) {
        PromptEncoder.Xl[] pos = encodeXl(request.prompt(), request);
        TextConditioning cond = catFeatures(pos[0].hidden(), pos[1].hidden());
        if (!request.classifierFree()) return new PromptEmbeddings(cond, null, pos[1].pooled(), null);
        if (request.negativePrompt() == null && index.forceZerosForEmptyPrompt()) {
            return new PromptEmbeddings(cond, new TextConditioning(new float[cond.data().length], cond.shape()), pos[1].pooled(),
                    new float[pos[1].pooled().length]);
        }
        PromptEncoder.Xl[] n = encodeXl(request.negativeOrEmpty(), request);
        TextConditioning uncond = catFeatures(n[0].hidden(), n[1].hidden());
        if (request.promptSyntax() != PromptSyntax.TRUNCATE) {
            PromptEncoder.Xl[] empty = encodeXl("", request);
            TextConditioning[] same = PromptEncoder.padToSameLength(cond, uncond, catFeatures(empty[0].hidden(), empty[1].hidden()));
            cond = same[0];
            uncond = same[1];
        }
        return new PromptEmbeddings(cond, uncond, pos[1].pooled(), n[1].pooled());
    }

    private PromptEncoder.Xl[] encodeXl(String prompt, TextToImage request) {
        return new PromptEncoder.Xl[] {prompts.encodeXl(prompt, request.clipSkip(), request.promptSyntax()),
                prompts2.encodeXl(prompt, request.clipSkip(), request.promptSyntax())};
    }

    /** {@code torch.concat([a, b], dim=-1)} of {@code [1, T, Da]} and {@code [1, T, Db]}. */
    private static TextConditioning catFeatures(TextConditioning a, TextConditioning b) {
        int t = a.shape()[1], da = a.shape()[2], db = b.shape()[2];
        if (b.shape()[1] != t) throw new IllegalArgumentException("the text encoders give " + t + " and " + b.shape()[1] + " tokens");
        float[] out = new float[t * (da + db)];
        for (int i = 0; i < t; i++) {
            System.arraycopy(a.data(), i * da, out, i * (da + db), da);
            System.arraycopy(b.data(), i * db, out, i * (da + db) + da, db);
        }
        return new TextConditioning(out, new int[] {1, t, da + db});
    }

    /**
     * The UNet's conditioning for {@code k} images: the embeddings repeated, and for SDXL the pooled embeddings and
     * the {@code add_time_ids} ({@link AddTimeIds}).
     */
    private static dev.unet4j.samplers.guidance.Conditioning condition(TextConditioning text, float[] pooled, float[] timeIds, int k) {
        TextConditioning t = repeat(text, k);
        if (pooled == null) return t;
        float[] e = new float[k * pooled.length];
        float[] ids = new float[k * timeIds.length];
        for (int i = 0; i < k; i++) {
            System.arraycopy(pooled, 0, e, i * pooled.length, pooled.length);
            System.arraycopy(timeIds, 0, ids, i * timeIds.length, timeIds.length);
        }
        return new dev.unet4j.samplers.guidance.TextTimeConditioning(t, e, pooled.length, ids, timeIds.length);
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
        return generate(request, embeddings, System.nanoTime(), null);
    }

    private GeneratedImages generate(TextToImage request, PromptEmbeddings embeddings, long t0) {
        return generate(request, embeddings, t0, null);
    }

    private GeneratedImages generate(TextToImage request, PromptEmbeddings embeddings, long t0, LayerAdapter unetAdapter) {
        int k = request.numImages();
        if (request.classifierFree() && embeddings.negative() == null) {
            throw new IllegalArgumentException("guidance " + request.guidanceScale() + " needs negative prompt embeddings");
        }
        if (prompts2 != null && embeddings.pooled() == null) throw new IllegalArgumentException("SDXL needs pooled prompt embeddings");
        int f = vae.scaleFactor();
        Generation gen = Generation.of(request.steps());
        List<TorchGenerator> generators = generators(request);
        Sampler sampler = sampler(request);
        NoiseSource noise = NoiseSource.generators(generators);
        Inpainting inpainting = null;
        int h;
        int w;
        if (request.mask() != null) {
            inpainting = Inpainting.prepare(this, images, request.initImage(), request.mask(), request.strength(),
                    unet.inChannels(), k, sampler, generators);
            h = inpainting.height;
            w = inpainting.width;
            gen = inpainting.apply(gen);
            noise = inpainting.noiseSource();
        } else if (request.initImage() != null) {
            requireLatentChannels();
            Latents pixels = images.preprocess(request.initImage(), 0, 0);
            h = pixels.shape()[2];
            w = pixels.shape()[3];
            gen = gen.initLatents(sampleLatents(pixels, generators, k), request.strength());
        } else {
            requireLatentChannels();
            h = request.height() > 0 ? request.height() : defaultSize;
            w = request.width() > 0 ? request.width() : defaultSize;
            if (h % 8 != 0 || w % 8 != 0) {
                throw new IllegalArgumentException("height and width have to be divisible by 8, got " + h + "x" + w);
            }
        }
        AddTimeIds ids = AddTimeIds.of(index.requiresAestheticsScore(), h, w, request.aestheticScore(), request.negativeAestheticScore());
        if (prompts2 != null) {
            ids.requireFits(((UNet2DConditionModel) unet).config(), embeddings.pooled().length, index.requiresAestheticsScore(),
                    index.folder().toString());
        }
        gen = gen.size(h / f, w / f).noise(noise, k).conditioning(condition(embeddings.prompt(), embeddings.pooled(), ids.positive(), k));
        if (request.classifierFree()) {
            gen = gen.guidance(request.guidanceScale(), condition(embeddings.negative(), embeddings.negativePooled(), ids.negative(), k))
                    .guidanceRescale(request.guidanceRescale());
        }
        gen = gen.onStep(callback(request.progress()));
        Consumer<UNetSession> setup = unetAdapter == null ? sessionSetup
                : sessionSetup.andThen(s -> s.workspace().attributes().put(LayerAdapter.class, unetAdapter));
        Pipeline p = Pipeline.of(unet, sampler).withSessionSetup(setup);
        if (options.cache() != CachePolicies.NONE) p = p.withRunModel(CachedRunModel.factory(options.cache()));
        if (switched != null) p = p.withRunModel(switchedRun(request, unetAdapter));
        GenerationResult r = p.generate(gen);
        Latents finalLatents = inpainting == null ? r.latents() : inpainting.finish(r.latents());
        float[] decoded = decode(finalLatents);
        float[] unit = VaeImageProcessor.denormalize(decoded);
        int b = finalLatents.batch();
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
        return new GeneratedImages(new Latents(nhwc, new int[] {b, hh, ww, 3}), out, finalLatents, r.unetCalls(),
                System.nanoTime() - t0);
    }

    /** The run model of a switched generation: each executed step to the UNet {@link UNetSwitch#mainRuns} names. */
    private RunModel.Factory switchedRun(TextToImage request, LayerAdapter unetAdapter) {
        if (unetAdapter != null) {
            throw new IllegalArgumentException("LoRA with UNet switching is not supported (the LoRA targets the main UNet's layers)");
        }
        int executed = request.initImage() == null ? request.steps()
                : Math.min((int) (request.steps() * request.strength()), request.steps());
        return switched.factory(executed, sessionSetup);
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
    Latents sampleLatents(Latents pixels, List<TorchGenerator> generators, int k) {
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

    /** Text-to-image and img2img take a UNet whose input is the latents alone. */
    private void requireLatentChannels() {
        if (unet.inChannels() != vae.config().latentChannels()) {
            throw new IllegalArgumentException("this UNet takes " + unet.inChannels() + " input channels (an inpainting model?);"
                    + " text-to-image and img2img need " + vae.config().latentChannels() + " (give a mask for inpainting)");
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
                try {
                    if (switched != null) switched.close();
                } finally {
                    unet.close();
                }
            } finally {
                try {
                    prompts.close();
                    if (prompts2 != null) prompts2.close();
                } finally {
                    if (ownedKernels != null) ownedKernels.close();
                }
            }
        }
    }
}
