package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.Weights;
import dev.unet4j.zoo.ddos.DdosUNet3D;
import dev.unet4j.zoo.mkunet.MKUNet;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.unetpp.GenericUNetPlusPlus;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A loaded zoo UNet: immutable and thread-safe; run it through a {@link ZooSession} per thread. Built from a folder
 * holding {@code config.json} (the official class's constructor arguments and {@code _class_name}) and
 * {@code model.safetensors} (its {@code state_dict()} with the official names). Each model class holds its typed
 * config {@code C} (the official constructor arguments) here, with what every model answers from it.
 *
 * @param <C> the model's config record
 */
public abstract class ZooModel<C extends Record> implements AutoCloseable {
    private final String className;
    private final C config;
    private final int inputRank, inChannels;
    private final Kernels kernels;
    private final Weights.Resources resources;
    private final List<AutoCloseable> owned;
    private boolean closed;

    /**
     * Finishes {@code build} (throws {@link dev.unet4j.unet.WeightMismatchException} listing every missing or
     * mis-shaped weight; {@link Build#building} then frees what was built).
     */
    protected ZooModel(String className, C config, int inputRank, int inChannels, Build build) {
        this.className = className;
        this.config = config;
        this.inputRank = inputRank;
        this.inChannels = inChannels;
        this.kernels = build.kernels;
        this.owned = build.owned();
        this.resources = build.weights.finish();
    }

    /**
     * Loads the model in {@code dir}: {@code _class_name} {@code Generic_UNetPlusPlus} (nnU-Net's UNet++),
     * {@code MK_UNet}, or {@code UNet} (DDoS-UNet's 3-D UNet, {@code models/unet3D.py}).
     */
    public static ZooModel<?> load(Path dir, LoadOptions options) throws IOException {
        DiffusersConfig cfg = DiffusersConfig.load(dir.resolve("config.json"));
        try (WeightSource weights = WeightSource.open(weightFiles(dir))) {
            return build(cfg, trainingStateIgnored(ParameterSource.of(weights)), weights.toString(), options);
        }
    }

    /** The model of {@code cfg}'s {@code _class_name} (as {@link #load}) with the parameters of {@code src}. */
    public static ZooModel<?> build(DiffusersConfig cfg, ParameterSource src, String sourceName, LoadOptions options) throws ModelException {
        String cls = cfg.className();
        if (cls == null) throw new ModelException(cfg.source() + ": no _class_name (expected Generic_UNetPlusPlus, MK_UNet or UNet)");
        return switch (cls) {
            case GenericUNetPlusPlus.CLASS_NAME -> GenericUNetPlusPlus.build(GenericUNetPlusPlus.Config.from(cfg), src, sourceName, options);
            case DdosUNet3D.CLASS_NAME -> DdosUNet3D.build(DdosUNet3D.Config.from(cfg), src, sourceName, options);
            case MKUNet.CLASS_NAME -> MKUNet.build(MKUNet.Config.from(cfg), src, sourceName, options);
            default -> throw new UnsupportedConfigException(cfg.source() + ": _class_name " + cls + " is not Generic_UNetPlusPlus, MK_UNet or UNet");
        };
    }

    /** {@code model.safetensors}, else the folder's only {@code .safetensors} file other than inputs/outputs. */
    private static List<Path> weightFiles(Path dir) throws IOException {
        Path main = dir.resolve("model.safetensors");
        if (Files.isRegularFile(main)) return List.of(main);
        List<Path> found;
        try (Stream<Path> s = Files.list(dir)) {
            found = s.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                    .filter(p -> !Set.of("inputs.safetensors", "outputs.safetensors").contains(p.getFileName().toString()))
                    .sorted().collect(Collectors.toList());
        }
        if (found.size() != 1) throw new ModelException(dir + ": expected model.safetensors (found " + found + ")");
        return found;
    }

    /**
     * BatchNorm's {@code num_batches_tracked} counts training steps and plays no part in eval mode; it is neither
     * requested nor reported as unexpected.
     */
    private static ParameterSource trainingStateIgnored(ParameterSource s) {
        return new ParameterSource() {
            @Override
            public Tensor load(String name, long[] expectedShape) {
                return s.load(name, expectedShape);
            }

            @Override
            public Set<String> names() {
                return s.names().stream().filter(n -> !n.endsWith(".num_batches_tracked")).collect(Collectors.toCollection(java.util.LinkedHashSet::new));
            }

            @Override
            public long[] shapeOf(String name) {
                return s.shapeOf(name);
            }
        };
    }

    /** A new session (allocator, workspace, interceptor, captures) for one thread. */
    public ZooSession newSession() {
        if (closed) throw new IllegalStateException("model is closed");
        return new ZooSession(this);
    }

    public Kernels kernels() {
        return kernels;
    }

    /** Values read from the checkpoint: parameters and BatchNorm running statistics. */
    public long parameterCount() {
        return resources.parameters();
    }

    /** The official class name ({@code _class_name}). */
    public final String className() {
        return className;
    }

    /** The typed config this model was built from. */
    public final C config() {
        return config;
    }

    /** Rank of the input {@code x}: 4 ({@code [B, C, H, W]}) or 5 ({@code [B, C, D, H, W]}). */
    public final int inputRank() {
        return inputRank;
    }

    /** Input channels of {@code x}. */
    public final int inChannels() {
        return inChannels;
    }

    /**
     * Names of the outputs of a full call, in order: {@code output}, unless the model has several heads (UNet++'s
     * deep supervision: {@code output.0 ...}).
     */
    public List<String> outputNames() {
        return List.of("output");
    }

    /** The top-level named nodes, in call order. */
    public abstract List<Node> nodes();

    /** Every node path, depth first. */
    public List<String> nodePaths() {
        List<String> out = new ArrayList<>();
        for (Node n : nodes()) walk(n, out);
        return out;
    }

    private static void walk(Node n, List<String> out) {
        out.add(n.path());
        for (Node c : n.children()) walk(c, out);
    }

    /** Checks {@code x} against the model, naming what was expected. */
    protected void validate(Tensor x) {
        if (x == null) throw new IllegalArgumentException(className() + ": input x is required");
        if (x.rank() != inputRank() || x.dim(1) != inChannels()) {
            throw new IllegalArgumentException(className() + ": input x " + java.util.Arrays.toString(x.shape()) + " is not [B, " + inChannels()
                    + (inputRank() == 5 ? ", D, H, W]" : ", H, W]"));
        }
    }

    /** One full call: the named outputs, owned by the caller. */
    protected abstract Map<String, Tensor> run(Pass p, Tensor x);

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        resources.close();
        Build.closeAll(owned);
    }
}
