package dev.unet4j.spark;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngReader;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.pipeline.GeneratedImages;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.pipeline.TextToImage;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.SamplingCancelledException;
import dev.unet4j.text.ClipEncoding;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Stable Diffusion pipeline folder on an executor: each row is one {@link StableDiffusion#generate} call, the same
 * call {@code unet4j generate --prompt} makes, so a row's image equals the library's for the same seed and settings.
 * Rows are not batched: the pipeline encodes one prompt per run.
 */
final class TextToImageModel implements ImageModel {
    private final StableDiffusion sd;
    private final DnnlKernels kernels;
    private final ExecutorThreads threads;

    private TextToImageModel(StableDiffusion sd, DnnlKernels kernels, ExecutorThreads threads) {
        this.sd = sd;
        this.kernels = kernels;
        this.threads = threads;
    }

    static TextToImageModel load(Path dir, ModelKey key, ExecutorThreads threads) throws IOException {
        QuantSpec q = key.quantization() == null ? null : QuantSpec.parse(key.quantization());
        PipelineOptions o = PipelineOptions.defaults().withQuant(q);
        if (key.cachePolicy() != null) o = o.withCache(CachePolicies.parse(key.cachePolicy()));
        DnnlKernels kernels = ImageModel.kernels(q, threads);
        try {
            return new TextToImageModel(StableDiffusion.load(dir, o.withKernels(kernels)), kernels, threads);
        } catch (IOException | RuntimeException e) {
            kernels.close();
            throw e;
        }
    }

    /** The request a row makes: what {@code unet4j generate} builds from the same options. */
    TextToImage request(RowRequest r, GeneratorSettings s) throws IOException {
        if (r.classLabel() != null) throw new IllegalArgumentException("class_label " + r.classLabel() + ": this model is text-to-image (give a prompt)");
        if (r.prompt() == null) throw new IllegalArgumentException("prompt is null: a text-to-image model needs a prompt");
        if (!s.truncatePrompts()) {
            requireFits("prompt", r.prompt());
            if (r.negativePrompt() != null) requireFits("negative_prompt", r.negativePrompt());
        }
        TextToImage t = TextToImage.of(r.prompt()).negativePrompt(r.negativePrompt()).steps(r.steps())
                .guidance(r.guidance()).seed(r.seed()).size(r.height(), r.width());
        if (s.sampler() != null) t = t.scheduler(s.sampler());
        if (r.initImage() != null) {
            Image init = PngReader.decode(r.initImage(), "init_image", PngReader.DEFAULT_MAX_PIXELS);
            t = t.initImage(init, s.strength());
        }
        return t;
    }

    private void requireFits(String column, String text) {
        ClipEncoding e = sd.promptEncoder().tokenize(text);
        if (e.truncated()) {
            int max = sd.promptEncoder().tokenizer().modelMaxLength();
            throw new IllegalArgumentException(column + " is " + e.ids().length + " tokens (with BOS/EOS); the model takes at most "
                    + max + " (set truncatePrompts to cut it as diffusers does)");
        }
    }

    @Override
    public List<RowResult> generate(List<RowRequest> rows, GeneratorSettings s) {
        List<RowResult> out = new ArrayList<>(rows.size());
        for (RowRequest r : rows) {
            long t0 = System.nanoTime();
            String settings = null;
            try {
                TextToImage t = request(r, s);
                settings = SettingsJson.of(sd.samplerName(t), r, r.height(), r.width(), s, t.initImage() != null, threads);
                GeneratedImages g = sd.generate(t);
                Image img = g.images().get(0);
                settings = SettingsJson.of(sd.samplerName(t), r, img.height(), img.width(), s, t.initImage() != null, threads);
                out.add(new RowResult(PngWriter.encode(img), r.seed(), settings, millis(t0), null));
            } catch (SamplingCancelledException e) {
                throw e; // the task was killed (ComputePool interrupted this thread): not the row's error
            } catch (Exception e) {
                out.add(RowResult.failed(r.seed(), settings, millis(t0), e));
            }
        }
        return out;
    }

    @Override
    public Object batchKey(RowRequest row) {
        return null;
    }

    static long millis(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Override
    public void close() {
        try {
            sd.close();
        } finally {
            kernels.close();
        }
    }
}
