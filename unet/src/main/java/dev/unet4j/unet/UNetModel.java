package dev.unet4j.unet;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelFiles;
import dev.unet4j.core.checkpoint.ModelLocator;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.unet.config.SampleSize;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.unet.config.UNet2DConfig;
import dev.unet4j.unet.config.UNetConfig;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.UNetGraph;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A loaded diffusers UNet ({@link UNet2DModel} or {@link UNet2DConditionModel}): immutable and thread-safe. Run it
 * through a {@link UNetSession} per thread ({@link #newSession()}); sessions hold all per-call state.
 */
public abstract sealed class UNetModel implements AutoCloseable permits UNet2DModel, UNet2DConditionModel {
    private final UNetGraph graph;
    private final Kernels kernels;
    /** Calls in flight (guarded by {@code this}); {@link #close} waits for them to finish before freeing weights. */
    private int inFlight;
    private boolean closed;

    UNetModel(UNetGraph graph, Kernels kernels) {
        this.graph = graph;
        this.kernels = kernels;
    }

    /**
     * Loads the UNet from a diffusers model folder ({@code config.json} + {@code diffusion_pytorch_model.safetensors}),
     * a pipeline folder (its {@code unet/}), or a Hugging Face cache repository folder ({@code models--org--name}).
     */
    public static UNetModel load(Path path, LoadOptions options) throws IOException {
        return load(ModelLocator.locate(path, ModelLocator.Options.defaults().withVariant(options.variant())), options);
    }

    /** Loads the model whose files were located already (its {@code config.json} read here). */
    public static UNetModel load(ModelFiles files, LoadOptions options) throws IOException {
        return load(files, UNetConfig.of(DiffusersConfig.load(files.configJson())), options);
    }

    /**
     * Loads the weights of {@code files} into a model of {@code config}: for a caller that located the files and read
     * their {@code config.json} already (to size inputs before loading), so neither is done twice.
     */
    public static UNetModel load(ModelFiles files, UNetConfig config, LoadOptions options) throws IOException {
        try (WeightSource weights = WeightSource.open(files)) {
            String name = files.weightFiles().size() == 1 ? files.weightFiles().get(0).toString() : files.folder() + " (sharded)";
            return build(config, ParameterSource.of(weights), name, options);
        }
    }

    /** Builds the model of {@code config}'s class from a parameter source (a checkpoint, or generated weights). */
    public static UNetModel build(UNetConfig config, ParameterSource source, String sourceName, LoadOptions options) {
        if (config instanceof UNet2DConfig c) return UNet2DModel.build(c, source, sourceName, options);
        return UNet2DConditionModel.build((UNet2DConditionConfig) config, source, sourceName, options);
    }

    /** A new session (allocator, workspace, interceptor, captures, trace) for one thread. */
    public UNetSession newSession() {
        return new UNetSession(this);
    }

    public Kernels kernels() {
        return kernels;
    }

    /** The typed config this model was built from. */
    public abstract UNetConfig config();

    /** {@code sample_size}: the size a generation uses when none is given; null when the config has none. */
    public SampleSize sampleSize() {
        return config().sampleSize();
    }

    /** Width of the {@code encoder_hidden_states} the model cross-attends to ({@code cross_attention_dim}); 0: no text input. */
    public int textEmbeddingDim() {
        return config().textEmbeddingDim();
    }

    /** Number of integer class labels the model takes ({@code num_class_embeds} of a plain table); 0: none. */
    public int classLabelCount() {
        return config().classLabelCount();
    }

    /** How this model class types a Python float timestep. */
    public TimestepRule timestepRule() {
        return graph.spec().timestepRule();
    }

    public int inChannels() {
        return graph.spec().inChannels();
    }

    public int outChannels() {
        return graph.spec().outChannels();
    }

    /** Number of parameters loaded. */
    public long parameterCount() {
        return graph.parameters();
    }

    /** Every normalisation layer with its groups and eps. */
    public List<NormInfo> normModules() {
        return graph.norms();
    }

    /** Every attention layer with heads, head dim and scale. */
    public List<AttentionInfo> attentionModules() {
        return graph.attentions();
    }

    /**
     * Every graph node path once, in running order (parents before their children). A UNet2DModel attention block
     * is both a LAYER and, under the same path, an attention UNIT: its path is listed once, at its layer level.
     */
    public List<String> nodePaths() {
        return graph.nodes().stream().map(Node::path).distinct().toList();
    }

    /** Level of node {@code path}. */
    public NodeLevel nodeLevel(String path) {
        return graph.nodes().stream().filter(n -> n.path().equals(path)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no node " + path)).level();
    }

    /** Number of tensors on the skip stack after the down path ({@code skip.0 .. skip.n-1}). */
    public int skipCount() {
        return graph.skipCount();
    }

    UNetGraph graph() {
        return graph;
    }

    /**
     * Registers a call that reads the weights; fails once the model is closed. Each successful acquire must be
     * followed by one {@link #release()}.
     */
    synchronized void acquire() {
        if (closed) throw new IllegalStateException("model closed: this UNetModel was closed, calls on it are refused");
        inFlight++;
    }

    synchronized void release() {
        if (--inFlight == 0) notifyAll();
    }

    /** Whether {@link #close} has been called. */
    public synchronized boolean isClosed() {
        return closed;
    }

    /**
     * Frees the weights. Calls that start afterwards throw {@link IllegalStateException}; calls already running
     * (from other threads) finish first: close blocks until they have, since freeing native memory under a running
     * kernel would crash the JVM. Do not close a model from inside one of its own calls (an interceptor): that call
     * could never finish, so it is refused.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            if (UNetSession.callingOn(this)) {
                throw new IllegalStateException("UNetModel.close() from inside a call on the same model would never return");
            }
            closed = true;
            boolean interrupted = false;
            while (inFlight > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true; // the weights must not be freed under a running call: keep waiting
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
        graph.close();
    }
}
