package dev.unet4j.server;

import dev.unet4j.core.kernels.dnnl.OpenMpTeams;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngReader;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.pipeline.GeneratedImages;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.pipeline.StepProgress;
import dev.unet4j.pipeline.TextToImage;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.Samplers;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A Stable Diffusion pipeline folder ({@link StableDiffusion}): text prompts with a negative prompt, and img2img
 * from a PNG. Each batch of a request is one {@link StableDiffusion#generate} call with one generator per image
 * (seed + i), so every image equals {@code unet4j generate --prompt ... --seed S} with that image's seed. Previews
 * decode the step's predicted latents through the VAE only when a client asks for them.
 */
public final class StableDiffusionBackend implements ImageBackend {
    private final StableDiffusion sd;
    private final ModelInfo info;

    private StableDiffusionBackend(StableDiffusion sd, ModelInfo info) {
        this.sd = sd;
        this.info = info;
    }

    /** Loads the pipeline once (exact float32 oneDNN kernels, no cache, no quantization). */
    public static StableDiffusionBackend load(ModelSpec spec) throws IOException {
        StableDiffusion sd = StableDiffusion.load(spec.dir(), PipelineOptions.defaults());
        try {
            String sampler = spec.sampler() != null ? spec.sampler() : Samplers.forSchedulerClass(sd.schedulerConfig());
            int size = sd.defaultSize();
            ModelInfo info = new ModelInfo(spec.name(), "text-to-image", size, size, spec.steps() > 0 ? spec.steps() : 50,
                    Double.isNaN(spec.guidance()) ? 7.5 : spec.guidance(), sampler, Samplers.NAMES, true, "a text prompt");
            return new StableDiffusionBackend(sd, info);
        } catch (RuntimeException e) {
            sd.close();
            throw e;
        }
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public void validate(ImageRequest r) {
        if (r.cache() != null) {
            throw ApiException.badField("cache", "model " + info.name() + " is a pipeline; its feature cache is chosen when it is loaded");
        }
        if (r.eta() != null) throw ApiException.badField("eta", "model " + info.name() + " takes no eta (pipeline samplers run as configured)");
        // the server's routes check the init image (size by its header, then a decode) before queueing: InitImageCheck
    }

    @Override
    public List<GeneratedImage> generate(ImageRequest r, StepListener listener) {
        int steps = r.steps() > 0 ? r.steps() : info.steps();
        double g = Double.isNaN(r.guidance()) ? info.guidance() : r.guidance();
        TextToImage base = TextToImage.of(r.prompt()).negativePrompt(r.negativePrompt()).steps(steps).guidance(g)
                .scheduler(r.sampler() != null ? r.sampler() : info.defaultSampler());
        if (r.promptSyntax() != null) base = base.promptSyntax(r.promptSyntax());
        if (r.initImage() != null) base = base.initImage(decode(r.initImage()), r.strength());
        else base = base.size(r.height() > 0 ? r.height() : info.height(), r.width() > 0 ? r.width() : info.width());
        // img2img runs the last strength share of the schedule
        int perBatch = r.initImage() == null ? steps : Math.max(1, (int) (steps * r.strength()));
        int total = perBatch * r.iterations();
        List<GeneratedImage> out = new ArrayList<>();
        for (int it = 0; it < r.iterations(); it++) {
            long[] seeds = new long[r.batchSize()];
            for (int i = 0; i < seeds.length; i++) seeds[i] = r.seed() + (long) it * r.batchSize() + i;
            int before = it * perBatch;
            TextToImage req = base.seed(seeds[0]).onStep(step -> listener.onStep(before + step.index() + 1, total, preview(step)));
            if (seeds.length > 1) req = req.seeds(seeds);
            GeneratedImages result = sd.generate(req);
            for (int i = 0; i < seeds.length; i++) {
                Image img = result.images().get(i);
                out.add(new GeneratedImage(PngWriter.encode(img), seeds[i], img.width(), img.height()));
            }
        }
        return out;
    }

    /** The first image of the step's prediction through the VAE, computed only when asked for. */
    private static Supplier<byte[]> preview(StepProgress step) {
        Latents x = step.predicted() != null ? step.predicted() : step.latents();
        Latents first = new Latents(java.util.Arrays.copyOf(x.data(), x.data().length / x.shape()[0]),
                new int[] {1, x.shape()[1], x.shape()[2], x.shape()[3]});
        // asked for by an HTTP thread: decoded on a thread that ends, so no OpenMP team stays behind on Jetty's pool
        return () -> OpenMpTeams.onShortLivedThread("unet4j-preview", () -> PngWriter.encode(step.decoder().apply(first).get(0)));
    }

    /** Decodes an init image the routes already checked (InitImageCheck: within the server's pixel cap). */
    private static Image decode(byte[] png) {
        try {
            return PngReader.decode(png, "init image", PngReader.DEFAULT_MAX_PIXELS);
        } catch (IOException | RuntimeException e) {
            throw ApiException.badField("init_images", "not a readable PNG: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        sd.close();
    }
}
