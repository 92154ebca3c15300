package dev.unet4j.cli;

import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.config.UNetConfig;

/**
 * Inputs for benchmarks and MAC counts: a file's, or seeded random inputs of the shapes a model takes: a standard normal sample, the
 * int64 timestep 500, standard normal {@code encoder_hidden_states [B, 77, cross_attention_dim]} for text-conditional
 * models (77 = CLIP's token count), class labels {@code i mod num_class_embeds} for class-conditional ones.
 */
final class BenchInputs implements AutoCloseable {
    static final int TOKENS = 77;
    static final long TIMESTEP = 500;

    private final java.util.List<Tensor> owned;
    private final UNetInputs inputs;

    private BenchInputs(java.util.List<Tensor> owned, UNetInputs inputs) {
        this.owned = owned;
        this.inputs = inputs;
    }

    private BenchInputs(Tensor sample, Tensor text, Tensor labels) {
        this(new java.util.ArrayList<>(java.util.Arrays.asList(sample, text, labels)),
                UNetInputs.builder(sample, Timestep.int64(TIMESTEP)).encoderHiddenStates(text).classLabels(labels).build());
    }

    /** The inputs of a file with the fixtures' tensor names (forward's --inputs). */
    static BenchInputs fromFile(java.nio.file.Path file) throws java.io.IOException {
        java.util.List<Tensor> owned = new java.util.ArrayList<>();
        try (TensorFile f = TensorFile.open(file, "--inputs")) {
            return new BenchInputs(owned, ForwardCommand.readInputs(f, null, owned));
        } catch (java.io.IOException | RuntimeException e) {
            owned.forEach(Tensor::close);
            throw e;
        }
    }

    static BenchInputs random(LoadedModel m, int batch, int height, int width, long seed) {
        return random(m.unet.config(), batch, height, width, seed);
    }

    /** Random inputs of the shapes {@code config} describes (also before its model is loaded: calibration inputs). */
    static BenchInputs random(UNetConfig config, int batch, int height, int width, long seed) {
        int c = config.inChannels();
        TorchGenerator g = new TorchGenerator(seed);
        Tensor sample = Tensor.of(g.randn(batch * c * height * width), batch, c, height, width);
        Tensor text = null;
        Tensor labels = null;
        int dim = config.textEmbeddingDim();
        if (dim > 0) text = Tensor.of(g.randn(batch * TOKENS * dim), batch, TOKENS, dim);
        int classes = config.classLabelCount();
        if (classes > 0) {
            float[] l = new float[batch];
            for (int i = 0; i < batch; i++) l[i] = i % classes;
            labels = Tensor.of(l, batch);
        }
        return new BenchInputs(sample, text, labels);
    }

    UNetInputs inputs() {
        return inputs;
    }

    @Override
    public void close() {
        for (Tensor t : owned) if (t != null) t.close();
    }
}
