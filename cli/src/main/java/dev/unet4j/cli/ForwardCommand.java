package dev.unet4j.cli;

import dev.unet4j.caching.CacheSession;
import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "forward", sortOptions = false, mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"One UNet call on tensors from a safetensors file; writes the output 'sample' and any captured "
                + "intermediate tensors under the golden fixtures' names.",
                "",
                "Segmentation UNets (config.json _class_name Generic_UNetPlusPlus, MK_UNet, UNet of DDoS): input x "
                        + "[B, C, H, W] or [B, C, D, H, W] (x_NAME for more calls); outputs 'output' or UNet++'s heads "
                        + "'output.0' (full) ... 'output.4' (L1); --capture takes node or sub-module paths.",
                "",
                "Input tensors: sample [B, C, H, W] (required), timestep (required unless --timestep; rank 0 or [1 or B]), "
                        + "encoder_hidden_states [B, T, D], class_labels [B], encoder_attention_mask [B, T], timestep_cond. "
                        + "A timestep tensor keeps its dtype (int64, float32, float64) as in diffusers; --timestep passes a "
                        + "Python number instead, which UNet2DModel truncates to an integer when it is a float."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  unet4j forward --model ./unet2d-ddpm-tiny --inputs inputs.safetensors --output out.safetensors",
                "  unet4j forward --model ./unet --inputs in.safetensors --output out.safetensors \\",
                "                 --capture time_proj,conv_in,down_blocks.1,mid_block,skip.3,up_blocks.1.attentions.0",
                "  unet4j forward --model ./unet --inputs in.safetensors --output out.safetensors --capture all --quant int8"})
final class ForwardCommand implements Callable<Integer> {
    static final List<String> INPUT_NAMES = List.of("sample", "timestep", "encoder_hidden_states", "class_labels",
            "encoder_attention_mask", "timestep_cond");

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOption model;

    @Option(names = "--inputs", paramLabel = "IN", required = true, description = "safetensors file with the call's tensors.")
    Path inputs;

    @Option(names = "--output", paramLabel = "OUT", required = true, description = "safetensors file to write (atomically).")
    Path output;

    @Option(names = "--capture", paramLabel = "NAME", split = ",",
            description = "Intermediate outputs to write: node paths (time_proj, time_embedding, class_embedding, conv_in, "
                    + "down_blocks.i, mid_block, up_blocks.i, conv_norm_out, up_blocks.1.attentions.0, ...), skip.k, or all. "
                    + "Default: none.")
    List<String> capture = new ArrayList<>();

    @Option(names = "--timestep", paramLabel = "T",
            description = "Pass the timestep as a Python number instead of the file's tensor: '10' an int, '10.7' a float.")
    String pythonTimestep;

    @Option(names = "--quant", paramLabel = "SPEC", description = "Weight quantization: " + QuantSpec.VALID + ". Default: none.")
    String quant;

    @Option(names = "--cache", paramLabel = "SPEC", description = "Feature-cache policy for the call, or none. Default: none.")
    String cache;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        common.checkThreads(err);
        QuantSpec q = LoadedModel.parseQuant(quant);
        CacheSpec c = cache == null ? null : CacheSpec.parse(cache);
        if (!output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors")) {
            throw new UserException("--output " + output + ": write a .safetensors file");
        }
        if (ZooForward.isZooModel(model.folder)) {
            if (c != null && !c.isNone()) throw new UserException("--cache applies to diffusion UNets, not to " + model.folder);
            if (pythonTimestep != null) throw new UserException("--timestep applies to diffusion UNets, not to " + model.folder);
            return ZooForward.run(spec.commandLine().getOut(), common.quiet, model.folder, inputs, output, capture, q);
        }
        long t0 = System.nanoTime();
        try (DnnlKernels kernels = LoadedModel.kernelsFor(q);
             LoadedModel m = LoadedModel.load(model.folder, q, kernels);
             TensorFile in = TensorFile.open(inputs, "--inputs");
             UNetSession session = m.newSession()) {
            in.allowOnly(INPUT_NAMES);
            Set<String> names = captureNames(m);
            session.capture(names);
            List<Tensor> owned = new ArrayList<>();
            try (CacheSession cached = c == null || c.isNone() ? null : c.open(session, new double[] {0})) {
                UNetInputs call = readInputs(in, pythonTimestep, owned);
                try (Tensor out = cached == null ? session.forward(call) : cached.call(0, call)) {
                    SafetensorsWriter w = new SafetensorsWriter().order(SafetensorsWriter.Order.INSERTION);
                    w.add("sample", out);
                    for (String n : names) {
                        Tensor t = session.captured(n);
                        if (t == null) throw new UserException("--capture " + n + ": the call did not produce it (was the node skipped?)");
                        w.add(n, t);
                    }
                    Path parent = output.toAbsolutePath().getParent();
                    if (parent != null) Files.createDirectories(parent);
                    w.write(output);
                }
            } finally {
                owned.forEach(Tensor::close);
            }
            if (!common.quiet) {
                PrintWriter stdout = spec.commandLine().getOut();
                stdout.printf(Locale.ROOT, "wrote %s (sample%s) in %.1f s%n", output,
                        names.isEmpty() ? "" : " + " + names.size() + " captured", (System.nanoTime() - t0) / 1e9);
                stdout.flush();
            }
        }
        return Main.EXIT_OK;
    }

    private Set<String> captureNames(LoadedModel m) {
        List<String> valid = new ArrayList<>(m.unet.nodePaths());
        for (int k = 0; k < m.unet.skipCount(); k++) valid.add("skip." + k);
        Set<String> names = new LinkedHashSet<>();
        for (String raw : capture) {
            String n = raw.strip();
            if (n.isEmpty()) continue;
            if (n.equals("all")) {
                names.addAll(valid);
            } else if (valid.contains(n)) {
                names.add(n);
            } else {
                throw new UserException("--capture: no node '" + n + "' in this model; e.g. " + String.join(", ",
                        valid.subList(0, Math.min(8, valid.size()))) + ", ... (see unet4j inspect)");
            }
        }
        return names;
    }

    /** The call's inputs from a file with the fixtures' tensor names; the tensors go to {@code owned}. */
    static UNetInputs readInputs(TensorFile in, String pythonTimestep, List<Tensor> owned) throws IOException {
        in.allowOnly(INPUT_NAMES);
        Tensor sample = own(owned, in.floatTensor("sample", 4));
        Timestep t = pythonTimestep != null ? parsePython(pythonTimestep) : timestep(in);
        UNetInputs.Builder b = UNetInputs.builder(sample, t);
        if (in.has("encoder_hidden_states")) b.encoderHiddenStates(own(owned, in.floatTensor("encoder_hidden_states", 3)));
        if (in.has("encoder_attention_mask")) b.encoderAttentionMask(own(owned, in.floatTensor("encoder_attention_mask", 2)));
        if (in.has("timestep_cond")) b.timestepCond(own(owned, in.floatTensor("timestep_cond", 2)));
        if (in.has("class_labels")) b.classLabels(own(owned, labels(in)));
        return b.build();
    }

    /** Integer labels (any integer dtype) or float class inputs ({@code [B, D]} for identity/projection embeddings). */
    private static Tensor labels(TensorFile in) throws IOException {
        if (in.dtype("class_labels").isInteger()) {
            long[] v = in.longs("class_labels");
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) f[i] = v[i];
            return Tensor.of(f, in.info("class_labels").shape());
        }
        return in.floatTensor("class_labels", -1);
    }

    private static Timestep timestep(TensorFile in) throws IOException {
        if (!in.has("timestep")) throw new UserException("--inputs " + in.path() + ": no tensor 'timestep' (or pass --timestep)");
        DType d = in.dtype("timestep");
        if (in.info("timestep").rank() > 1) throw new UserException("--inputs " + in.path() + ": timestep must be a scalar or [B]");
        if (d.isInteger()) return Timestep.int64(in.longs("timestep"));
        if (d == DType.F64) return Timestep.float64(in.doubles("timestep")); // a float32 decode would round
        try (Tensor t = in.floatTensor("timestep", -1)) {
            return Timestep.float32(t.toFloatArray());
        }
    }

    static Timestep parsePython(String s) {
        try {
            if (s.matches("[+-]?\\d+")) return Timestep.of(Long.parseLong(s));
            return Timestep.of(Double.parseDouble(s));
        } catch (NumberFormatException e) {
            throw new UserException("--timestep " + s + ": not a number");
        }
    }

    private static Tensor own(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }
}
