package dev.unet4j.bench;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNet2DModel;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.unet.config.UNet2DConfig;

import java.util.SplittableRandom;

/**
 * The UNet forward workloads: real architectures (their published {@code config.json}) with seeded random weights made
 * in-process, and seeded random inputs.
 */
public enum UNetForwardCases {
    /** google/ddpm-cifar10-32 (UNet2DModel, 35.7M parameters), 32x32, batch 1. */
    DDPM_CIFAR10_B1(Arch.DDPM_CIFAR10, 1, 32),
    /** google/ddpm-cifar10-32, 32x32, batch 8. */
    DDPM_CIFAR10_B8(Arch.DDPM_CIFAR10, 8, 32),
    /** Stable Diffusion 1.5 UNet (859.5M parameters), 32x32 latents (256 px), batch 2 (CFG), text [2, 77, 768]. */
    SD15_32_B2(Arch.SD15, 2, 32),
    /** Stable Diffusion 1.5 UNet, 64x64 latents (512 px), batch 2. */
    SD15_64_B2(Arch.SD15, 2, 64),
    /** Stable Diffusion 1.5 UNet, 16x16 latents (128 px), batch 1: the benchmarks' {@code --quick} case. */
    SD15_16_B1(Arch.SD15, 1, 16);

    /** The architectures, as diffusers configs. */
    public enum Arch {
        DDPM_CIFAR10("""
                {"_class_name": "UNet2DModel", "act_fn": "silu", "attention_head_dim": null,
                 "block_out_channels": [128, 256, 256, 256], "center_input_sample": false,
                 "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
                 "downsample_padding": 0, "flip_sin_to_cos": false, "freq_shift": 1, "in_channels": 3,
                 "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-06, "norm_num_groups": 32,
                 "out_channels": 3, "sample_size": 32, "time_embedding_type": "positional",
                 "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"]}"""),
        SD15("""
                {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": 8,
                 "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false, "cross_attention_dim": 768,
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                 "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4,
                 "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32,
                 "out_channels": 4, "sample_size": 64,
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]}""");

        final String config;

        Arch(String config) {
            this.config = config;
        }

        /** The model with seeded random weights on {@code kernels}. */
        public UNetModel build(Kernels kernels) {
            RandomParameterSource weights = new RandomParameterSource(1234);
            LoadOptions o = LoadOptions.of(kernels);
            return this == DDPM_CIFAR10
                    ? UNet2DModel.build(UNet2DConfig.fromJson(config), weights, "random " + name(), o)
                    : UNet2DConditionModel.build(UNet2DConditionConfig.fromJson(config), weights, "random " + name(), o);
        }
    }

    public final Arch arch;
    public final int batch, size;

    UNetForwardCases(Arch arch, int batch, int size) {
        this.arch = arch;
        this.batch = batch;
        this.size = size;
    }

    /** Seeded inputs for this case; close them with {@link Inputs#close}. */
    public Inputs inputs(UNetModel model) {
        Tensor x = random(batch, model.inChannels(), size, size);
        Tensor ehs = arch == Arch.SD15 ? random(batch, 77, 768) : null;
        long[] t = new long[batch];
        java.util.Arrays.fill(t, 500);
        UNetInputs in = UNetInputs.builder(x, Timestep.int64(t)).encoderHiddenStates(ehs).build();
        return new Inputs(in, x, ehs);
    }

    public record Inputs(UNetInputs inputs, Tensor sample, Tensor ehs) implements AutoCloseable {
        @Override
        public void close() {
            sample.close();
            if (ehs != null) ehs.close();
        }
    }

    static Tensor random(long... shape) {
        SplittableRandom r = new SplittableRandom(42);
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return Tensor.of(v, shape);
    }
}
