package dev.unet4j.spark;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.quantization.spec.QuantSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A model loaded on an executor, turning requests into results. Implementations are immutable and thread-safe (the
 * tasks of one executor share one instance); every call works in its own sessions.
 */
interface ImageModel extends AutoCloseable {

    /** Generates the rows in order; a row that cannot be generated gets an error result, the others their images. */
    List<RowResult> generate(List<RowRequest> rows, GeneratorSettings settings);

    /**
     * Rows with equal non-null keys can be generated in one UNet batch; null: the row runs alone.
     */
    Object batchKey(RowRequest row);

    @Override
    void close();

    /**
     * Loads {@code key}'s model: a pipeline folder ({@code model_index.json}) as {@link TextToImageModel}, else a UNet
     * folder as {@link ClassConditionalModel}; its kernels compute with {@code threads}' intra-op count.
     */
    static ImageModel load(Path dir, ModelKey key, ExecutorThreads threads) throws IOException {
        if (!Files.isDirectory(dir)) throw new IOException("model folder not found: " + dir.toAbsolutePath());
        if (Files.isRegularFile(dir.resolve("model_index.json"))) return TextToImageModel.load(dir, key, threads);
        return ClassConditionalModel.load(dir, key, threads);
    }

    /**
     * The kernels of a model of {@code quantization} (null = as stored) computing with {@code threads}: the options
     * {@code StableDiffusion.load} would choose, with the executor's intra-op count.
     */
    static DnnlKernels kernels(QuantSpec quantization, ExecutorThreads threads) {
        DnnlKernels.Options o = quantization == null ? DnnlKernels.Options.exact() : quantization.kernelOptions();
        return new DnnlKernels(o.withIntraOpThreads(threads.kernelIntraOpThreads()));
    }
}
