package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * What oneDNN dispatches to on this CPU: the instruction set it uses (after {@code ONEDNN_MAX_CPU_ISA}), and
 * whether bf16 compute ({@code fpmath bf16}) is really honoured. oneDNN treats the fpmath mode as a permission,
 * not an order: where no kernel down-converts (seen on AVX-512 BF16 CPUs without AMX), it computes float32, so
 * {@link DnnlKernels} then describes bf16 inputs itself; without bf16 instructions it runs float32 and says so.
 */
public final class CpuFeatures {
    static {
        OpenMpDefaults.beforeNativeLoad(); // before this class first loads oneDNN and its OpenMP runtime
    }

    private static volatile Boolean bf16Honoured;

    private CpuFeatures() {
    }

    /** The ISA oneDNN dispatches to, e.g. {@code avx512_core_amx}, {@code avx512_core_bf16}, {@code avx2}. */
    public static String isa() {
        Dnnl.engine();
        int isa = dnnl_get_effective_cpu_isa();
        if (isa == dnnl_cpu_isa_avx512_core_amx_fp16) return "avx512_core_amx_fp16";
        if (isa == dnnl_cpu_isa_avx512_core_amx) return "avx512_core_amx";
        if (isa == dnnl_cpu_isa_avx10_1_512_amx) return "avx10_1_512_amx";
        if (isa == dnnl_cpu_isa_avx512_core_fp16) return "avx512_core_fp16";
        if (isa == dnnl_cpu_isa_avx512_core_bf16) return "avx512_core_bf16";
        if (isa == dnnl_cpu_isa_avx512_core_vnni) return "avx512_core_vnni";
        if (isa == dnnl_cpu_isa_avx512_core) return "avx512_core";
        if (isa == dnnl_cpu_isa_avx2_vnni_2) return "avx2_vnni_2";
        if (isa == dnnl_cpu_isa_avx2_vnni) return "avx2_vnni";
        if (isa == dnnl_cpu_isa_avx2) return "avx2";
        if (isa == dnnl_cpu_isa_avx) return "avx";
        if (isa == dnnl_cpu_isa_sse41) return "sse41";
        return "isa-" + Integer.toHexString(isa);
    }

    /** Whether the dispatched ISA has 8-bit dot-product instructions (VNNI or AMX) for int8 compute. */
    public static boolean hasInt8DotProduct() {
        String isa = isa();
        return isa.contains("vnni") || isa.contains("amx") || isa.contains("bf16") || isa.contains("fp16") || isa.startsWith("avx10");
    }

    /**
     * Whether a convolution under oneDNN's {@code fpmath bf16} really rounds its inputs to bf16 here. Measured once:
     * a 3x3 convolution whose inputs carry bits below bf16's 8-bit mantissa gives the exact float32 result only when
     * oneDNN computed in float32.
     */
    public static boolean fpmathBf16Honoured() {
        Boolean b = bf16Honoured;
        if (b == null) bf16Honoured = b = probeBf16();
        return b;
    }

    /** Whether the dispatched ISA has bf16 dot-product instructions (AVX-512 BF16, AVX512-FP16, AVX10, AMX). */
    public static boolean hasBf16Instructions() {
        String isa = isa();
        return isa.contains("bf16") || isa.contains("fp16") || isa.contains("amx") || isa.startsWith("avx10");
    }

    /** Whether {@code --quant bf16} computes in bf16 on this CPU (one way or the other). */
    public static boolean bf16Compute() {
        return fpmathBf16Honoured() || hasBf16Instructions();
    }

    /** What a kernels instance computes in: {@code f32}, {@code bf16}, or {@code f32 (bf16 compute not available on ISA)}. */
    public static String computeLabel(DnnlKernels kernels) {
        if (!kernels.options().bf16Compute()) return "f32";
        int mode = kernels.fpmathMode();
        if (mode == Dnnl.BF16_INPUTS) return "bf16 (inputs converted per call)";
        if (mode == dnnl_fpmath_mode_bf16) return "bf16";
        return "f32 (bf16 compute not available on " + isa() + ")";
    }

    private static boolean probeBf16() {
        int c = 16, hw = 8;
        float[] w = new float[c * c * 9], x = new float[c * hw * hw];
        Arrays.fill(w, 1f / 64);
        Arrays.fill(x, 1f + 1f / 4096);          // 1 + 2^-12: exact in float32, 1 in bf16
        try (DnnlKernels k = new DnnlKernels(new DnnlKernels.Options(true), dnnl_fpmath_mode_bf16);
             Workspace ws = k.newWorkspace(Allocator.direct());
             Tensor wt = Tensor.of(w, c, c, 3, 3);
             Tensor xt = Tensor.of(x, 1, c, hw, hw);
             Conv2d conv = k.conv2d(Conv2dSpec.of(c, c, 3, 1, 1), wt, null);
             Tensor y = conv.forward(ws, xt)) {
            float centre = y.toFloatArray()[hw * hw / 2 + hw / 2];
            // float32: 144 taps x (1 + 2^-12) / 64 = 2.25 + 2.25 * 2^-12; bf16 inputs give 2.25
            return centre == 2.25f;
        }
    }
}
