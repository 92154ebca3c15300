package dev.unet4j.pipeline.lora;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.checkpoint.PickleRefusal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One LoRA file read into memory (float32 factors; F32, F16 and BF16 stored). Formats, as diffusers'
 * {@code lora_conversion_utils.py} reads them:
 * <ul>
 *   <li>kohya / A1111: {@code lora_unet_<path with '_'>}, {@code lora_te_} / {@code lora_te1_} (text encoder),
 *       {@code lora_te2_} (SDXL's second), each with {@code .lora_down.weight [r, in(, kh, kw)]},
 *       {@code .lora_up.weight [out, r(, 1, 1)]} and an optional scalar {@code .alpha} (LoCon convolutions too); UNet
 *       modules named in diffusers' layout ({@code lora_unet_down_blocks_0_...}) or in the original LDM / SGM one
 *       ({@code lora_unet_input_blocks_1_1_proj_in}, see {@link LdmLoraNames});</li>
 *   <li>diffusers / PEFT: {@code unet.<path>.lora_A.weight} / {@code .lora_B.weight} (also {@code text_encoder.},
 *       {@code text_encoder_2.}, and PEFT's bare {@code base_model.model.}), optional {@code <path>.alpha}.</li>
 * </ul>
 * Malformed entries (a factor missing, a non-scalar or non-float alpha, NaN or infinite factors, LoHa/LoKr weights)
 * are kept as problems and reported, with the model's mismatches, when the file is applied.
 */
public final class LoraFile {
    /** Which model of a pipeline a module belongs to. */
    public enum Component { UNET, TEXT_ENCODER, TEXT_ENCODER_2 }

    /**
     * One adapted layer. {@code name} is the file's module name: with '_' for '.' when {@code flat} (kohya), a
     * dotted module path otherwise. {@code alpha} null = the rank (factor 1).
     */
    public record Module(Component component, String name, boolean flat, float[] down, long[] downShape,
                         float[] up, long[] upShape, Float alpha) {
        public int rank() {
            return (int) downShape[0];
        }

        /** How the file names it, for messages. */
        public String key() {
            return name;
        }
    }

    private static final String[][] PREFIXES = {
            {"lora_unet_", "UNET", "flat"}, {"lora_te1_", "TEXT_ENCODER", "flat"}, {"lora_te2_", "TEXT_ENCODER_2", "flat"},
            {"lora_te_", "TEXT_ENCODER", "flat"}, {"unet.", "UNET", "dotted"}, {"text_encoder_2.", "TEXT_ENCODER_2", "dotted"},
            {"text_encoder.", "TEXT_ENCODER", "dotted"}, {"base_model.model.", "UNET", "dotted"}};
    private static final String[] DOWN = {".lora_down.weight", ".lora_A.weight"};
    private static final String[] UP = {".lora_up.weight", ".lora_B.weight"};

    private final Path file;
    private final List<Module> modules;
    private final List<String> problems;

    private LoraFile(Path file, List<Module> modules, List<String> problems) {
        this.file = file;
        this.modules = List.copyOf(modules);
        this.problems = List.copyOf(problems);
    }

    public Path file() {
        return file;
    }

    public List<Module> modules() {
        return modules;
    }

    /** What is malformed in the file itself (reported when it is applied). */
    public List<String> problems() {
        return problems;
    }

    /** Reads {@code file}; pickle files are refused unread. */
    public static LoraFile load(Path file) throws IOException {
        PickleRefusal.check(file);
        List<String> problems = new ArrayList<>();
        Map<String, String[]> parts = new LinkedHashMap<>(); // module key -> {down, up, alpha} tensor names
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String k : f.names()) {
                int slot = -1;
                String module = null;
                for (String s : DOWN) if (k.endsWith(s)) { slot = 0; module = k.substring(0, k.length() - s.length()); }
                for (String s : UP) if (k.endsWith(s)) { slot = 1; module = k.substring(0, k.length() - s.length()); }
                if (k.endsWith(".alpha")) { slot = 2; module = k.substring(0, k.length() - 6); }
                if (slot < 0) {
                    problems.add(file.getFileName() + ": " + k + ": not a LoRA factor (" + kindOf(k) + ")");
                    continue;
                }
                parts.computeIfAbsent(module, m -> new String[3])[slot] = k;
            }
            List<Module> modules = new ArrayList<>();
            for (var e : parts.entrySet()) {
                String m = e.getKey();
                String[] p = e.getValue();
                String[] prefix = prefixOf(m);
                if (prefix == null) {
                    problems.add(file.getFileName() + ": " + m + ": unknown module prefix (expected lora_unet_, lora_te_, lora_te1_, "
                            + "lora_te2_, unet., text_encoder., text_encoder_2.)");
                    continue;
                }
                if (p[0] == null || p[1] == null) {
                    problems.add(file.getFileName() + ": " + m + ": has " + (p[0] == null ? "no down (lora_down / lora_A)" : "no up (lora_up / lora_B)")
                            + " factor");
                    continue;
                }
                Float alpha = null;
                if (p[2] != null) {
                    TensorInfo ai = f.info(p[2]);
                    long n = 1;
                    for (long d : ai.shape()) n *= d;
                    if (!ai.dtype().isFloatingPoint() || n != 1) {
                        problems.add(file.getFileName() + ": " + p[2] + ": alpha must be one float (F32/F16/BF16) value, found "
                                + ai.dtype() + " " + Arrays.toString(ai.shape()));
                        continue;
                    }
                    try (Tensor a = f.load(p[2])) {
                        alpha = a.toFloatArray()[0];
                    }
                    if (!Float.isFinite(alpha)) {
                        problems.add(file.getFileName() + ": " + p[2] + ": alpha is " + alpha);
                        continue;
                    }
                }
                String bad = factorProblem(f, p[0]);
                if (bad == null) bad = factorProblem(f, p[1]);
                if (bad != null) {
                    problems.add(file.getFileName() + ": " + bad);
                    continue;
                }
                try (Tensor down = f.load(p[0]); Tensor up = f.load(p[1])) {
                    float[] dv = down.toFloatArray(), uv = up.toFloatArray();
                    bad = nonFinite(p[0], dv);
                    if (bad == null) bad = nonFinite(p[1], uv);
                    if (bad != null) {
                        problems.add(file.getFileName() + ": " + bad);
                        continue;
                    }
                    modules.add(new Module(Component.valueOf(prefix[1]), m.substring(prefix[0].length()), prefix[2].equals("flat"),
                            dv, down.shape(), uv, up.shape(), alpha));
                }
            }
            return new LoraFile(file, modules, problems);
        }
    }

    private static String factorProblem(SafetensorsFile f, String name) throws IOException {
        TensorInfo i = f.info(name);
        if (!i.dtype().isFloatingPoint()) return name + ": a factor must be F32/F16/BF16, found " + i.dtype();
        if (i.shape().length != 2 && i.shape().length != 4) return name + ": a factor must be 2-D or 4-D, found " + Arrays.toString(i.shape());
        for (long d : i.shape()) if (d <= 0) return name + ": empty factor " + Arrays.toString(i.shape());
        return null;
    }

    /** NaN or infinite factors would make every generation with the LoRA black: named with the count and first index. */
    private static String nonFinite(String name, float[] v) {
        int count = 0, first = -1;
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                if (count++ == 0) first = i;
            }
        }
        return count == 0 ? null : name + ": " + count + " NaN or infinite value" + (count == 1 ? "" : "s") + " (first: "
                + v[first] + " at flat index " + first + ")";
    }

    private static String[] prefixOf(String module) {
        for (String[] p : PREFIXES) if (module.startsWith(p[0])) return p;
        return null;
    }

    private static String kindOf(String key) {
        if (key.contains("hada_")) return "LoHa weights are not supported";
        if (key.contains("lokr_")) return "LoKr weights are not supported";
        if (key.endsWith("lora_mid.weight")) return "LoCon Tucker (lora_mid) weights are not supported";
        if (key.endsWith("dora_scale")) return "DoRA is not supported";
        return "expected .lora_down.weight, .lora_up.weight, .lora_A.weight, .lora_B.weight or .alpha";
    }

    @Override
    public String toString() {
        return file + " (" + modules.size() + " modules)";
    }
}
