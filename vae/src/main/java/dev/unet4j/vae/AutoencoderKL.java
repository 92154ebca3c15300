package dev.unet4j.vae;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.AttentionInfo;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NormInfo;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.WeightMismatchException;
import dev.unet4j.unet.nn.Activation;
import dev.unet4j.unet.nn.ConvNode;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.unet.nn.Weights;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * diffusers {@code AutoencoderKL}, the Stable Diffusion VAE: {@link #encode} an image {@code [B, 3, H, W]} (values in
 * [-1, 1]) into a {@link LatentDistribution} over {@code [B, L, H/f, W/f]} ({@code f = 2^(levels-1)}), {@link #decode}
 * latents back to an image. Both work on the VAE's own latent scale: the diffusion model's latents are
 * {@link #scaleLatents scaled} ({@code (z - shift_factor) * scaling_factor}), and {@link #unscaleLatents} undoes that
 * before decoding, as diffusers' pipelines do.
 *
 * <p>Immutable and thread-safe: every call allocates its own workspace and frees it before returning; results are
 * standalone tensors the caller closes. Closing the model frees its weights.
 */
public final class AutoencoderKL implements Autoencoder {
    private final AutoencoderKLConfig config;
    private final Kernels kernels;
    private final Encoder encoder;
    private final Decoder decoder;
    private final Node quantConv, postQuantConv; // null when the config turns them off
    private final Weights.Resources resources;

    private AutoencoderKL(AutoencoderKLConfig c, Weights w, Kernels kernels) {
        this.config = c;
        this.kernels = kernels;
        VarBuilder vb = w.root();
        VaeResnets r = new VaeResnets(c.normNumGroups(), Activation.of(c.actFn()));
        int l = c.latentChannels();
        encoder = new Encoder(vb.pp("encoder"), c, r);
        decoder = new Decoder(vb.pp("decoder"), c, r);
        quantConv = c.useQuantConv() ? new ConvNode(vb.pp("quant_conv"), NodeKind.CONV_OUT, Conv2dSpec.of(2 * l, 2 * l, 1, 1, 0)) : null;
        postQuantConv = c.usePostQuantConv() ? new ConvNode(vb.pp("post_quant_conv"), NodeKind.CONV_IN, Conv2dSpec.of(l, l, 1, 1, 0)) : null;
        resources = w.finish();
    }

    /** Loads {@code vae/} ({@code config.json} + {@code diffusion_pytorch_model.safetensors}), or a pipeline folder's {@code vae/}. */
    public static AutoencoderKL load(Path vaeDir, Kernels kernels) throws IOException {
        return load(vaeDir, LoadOptions.of(kernels));
    }

    /** As {@link #load(Path, Kernels)} with a weight variant or a layer factory. */
    public static AutoencoderKL load(Path vaeDir, LoadOptions options) throws IOException {
        return VaeFiles.load(vaeDir, options, "AutoencoderKL",
                (config, source, name) -> build(AutoencoderKLConfig.from(config), source, name, options));
    }

    /**
     * Builds the VAE from any parameter source with diffusers' key names ({@code encoder.down_blocks.0.resnets.0.norm1
     * .weight}, ...); the mid-block attention may also use the legacy {@code query/key/value/proj_attn} names and
     * {@code [C, C, 1, 1]} conv-shaped weights. One {@link WeightMismatchException} lists every missing, mis-shaped and
     * unexpected tensor.
     */
    public static AutoencoderKL build(AutoencoderKLConfig config, ParameterSource source, String sourceName, LoadOptions options) {
        return new Weights(new ConvShapedLinears(source), sourceName, options.factory())
                .build(w -> new AutoencoderKL(config, w, options.kernels()));
    }

    @Override
    public AutoencoderKLConfig config() {
        return config;
    }

    public Kernels kernels() {
        return kernels;
    }

    /** diffusers' {@code retrieve_latents(vae.encode(x), generator)}: a posterior sample ({@link LatentDistribution#sample}). */
    @Override
    public Tensor encodeLatents(Tensor image, TorchGenerator generator) {
        try (LatentDistribution d = encode(image)) {
            return d.sample(generator);
        }
    }

    public long parameterCount() {
        return resources.parameters();
    }

    /** Every GroupNorm with its groups and eps (all 1e-6). */
    public List<NormInfo> normModules() {
        return resources.norms();
    }

    /** The mid-block attentions (one head over all channels). */
    public List<AttentionInfo> attentionModules() {
        return resources.attentions();
    }

    // ------------------------------------------------------------------ decode

    /**
     * {@code vae.decode(z).sample}: {@code decoder(post_quant_conv(z))} for latents {@code [B, L, h, w]} on the VAE's
     * own scale (see {@link #unscaleLatents}); the image {@code [B, out, f*h, f*w]}, roughly in [-1, 1].
     */
    @Override
    public Tensor decode(Tensor latents) {
        return decode(latents, (LongConsumer) null);
    }

    /** {@link #decode(Tensor)} telling {@code peakBytes} the working memory it used (tests). */
    Tensor decode(Tensor latents, LongConsumer peakBytes) {
        checkLatents(latents);
        try (VaeCall call = new VaeCall(kernels, Set.of(), peakBytes)) {
            return checkedResult("decode", VaeCall.export(decodeIn(call, latents)));
        }
    }

    /** Decode with the outputs of the named nodes ({@code decoder.mid_block}, ...) captured into {@code captures}. */
    Tensor decode(Tensor latents, Set<String> capture, Map<String, Tensor> captures) {
        checkLatents(latents);
        try (VaeCall call = new VaeCall(kernels, capture, null)) {
            Tensor out = VaeCall.export(decodeIn(call, latents));
            captures.putAll(call.exportCaptures());
            return out;
        }
    }

    /** The decode inside {@code call}; the result belongs to the call. */
    private Tensor decodeIn(VaeCall call, Tensor z) {
        if (postQuantConv == null) return decoder.forward(call.pass, z);
        Tensor q = postQuantConv.apply(call.pass, z);                   // [B, L, h, w]
        try {
            return decoder.forward(call.pass, q);                       // [B, out, f*h, f*w]
        } finally {
            call.pass.release(q);
        }
    }

    /**
     * diffusers' {@code decode} with {@code enable_tiling()}: latents wider or taller than {@code tile_latent_min_size}
     * ({@code sample_size / f}) are decoded in overlapping tiles (overlap 0.25) blended linearly at the seams; smaller
     * ones exactly as {@link #decode}. Working memory is that of one tile. Tiles see only their own GroupNorm
     * statistics and attention context, so the result differs from {@link #decode} (as in diffusers).
     */
    @Override
    public Tensor decodeTiled(Tensor latents) {
        return decodeTiled(latents, defaultTiling());
    }

    /** {@link #decodeTiled(Tensor)} with another tile size or overlap. */
    public Tensor decodeTiled(Tensor latents, VaeTiling tiling) {
        return decodeTiled(latents, tiling, null);
    }

    /** {@link #decodeTiled(Tensor, VaeTiling)} telling {@code peakBytes} the working memory it used (tests). */
    Tensor decodeTiled(Tensor latents, VaeTiling tiling, LongConsumer peakBytes) {
        checkLatents(latents);
        int ts = tiling.tileSampleSize(), tl = tiling.tileLatentSize(scaleFactor());
        if (latents.dim(2) <= tl && latents.dim(3) <= tl) return decode(latents);
        if (tl < 1) throw new IllegalArgumentException("VaeTiling: tiles of " + ts + " pixels are smaller than one latent (" + scaleFactor() + " pixels)");
        int step = VaeTiling.step(tl, tiling.overlap(), "latent"), blend = (int) (ts * tiling.overlap()), rowLimit = ts - blend;
        int f = scaleFactor();
        try (VaeCall call = new VaeCall(kernels, Set.of(), peakBytes)) {
            return checkedResult("tiled decode", TiledRunner.run(latents, tl, step, blend, rowLimit, n -> n * f,
                    tile -> {
                        call.startShape(tile.shape());
                        return VaeCall.export(decodeIn(call, tile));
                    }));
        }
    }

    /** diffusers' defaults: tiles of {@code sample_size} pixels, overlap 0.25. */
    public VaeTiling defaultTiling() {
        return new VaeTiling(config.sampleSize(), 0.25);
    }

    // ------------------------------------------------------------------ encode

    /** {@code vae.encode(x).latent_dist} for an image {@code [B, in, H, W]} (H, W multiples of {@link #scaleFactor}). */
    public LatentDistribution encode(Tensor image) {
        checkImage(image);
        try (VaeCall call = new VaeCall(kernels)) {
            Tensor m = encodeIn(call, image);
            checkedResult("encode", m);
            return LatentDistribution.ofMoments(m);
        }
    }

    /** Encode with captured node outputs (tests). */
    LatentDistribution encode(Tensor image, Set<String> capture, Map<String, Tensor> captures) {
        checkImage(image);
        try (VaeCall call = new VaeCall(kernels, capture, null)) {
            LatentDistribution d = LatentDistribution.ofMoments(encodeIn(call, image));
            captures.putAll(call.exportCaptures());
            return d;
        }
    }

    /** Moments {@code [B, 2L, h, w]} inside {@code call}. */
    private Tensor encodeIn(VaeCall call, Tensor x) {
        Tensor h = encoder.forward(call.pass, x);                        // [B, 2L, h, w]
        if (quantConv == null) return h;
        try {
            return quantConv.apply(call.pass, h);                        // [B, 2L, h, w]
        } finally {
            call.pass.release(h);
        }
    }

    /**
     * diffusers' {@code encode} with {@code enable_tiling()}: images wider or taller than {@code sample_size} are
     * encoded in overlapping {@code sample_size} tiles whose moments are blended (overlap 0.25); smaller ones exactly
     * as {@link #encode}.
     */
    public LatentDistribution encodeTiled(Tensor image) {
        return encodeTiled(image, defaultTiling());
    }

    /** {@link #encodeTiled(Tensor)} with another tile size or overlap. */
    public LatentDistribution encodeTiled(Tensor image, VaeTiling tiling) {
        checkImage(image);
        int ts = tiling.tileSampleSize(), tl = tiling.tileLatentSize(scaleFactor());
        if (image.dim(2) <= ts && image.dim(3) <= ts) return encode(image);
        int step = VaeTiling.step(ts, tiling.overlap(), "image"), blend = (int) (tl * tiling.overlap()), rowLimit = tl - blend;
        if (rowLimit < 1) throw new IllegalArgumentException("VaeTiling: tiles of " + ts + " pixels keep no latent after blending");
        int levels = config.levels();
        try (VaeCall call = new VaeCall(kernels);
             Tensor moments = TiledRunner.run(image, ts, step, blend, rowLimit, n -> encodedSize(n, levels),
                     tile -> {
                         call.startShape(tile.shape());
                         return VaeCall.export(encodeIn(call, checkTile(tile)));
                     })) {
            checkedResult("tiled encode", moments);
            return LatentDistribution.ofMoments(moments);
        }
    }

    /** The encoder's output extent for an input extent: each downsampler (pad 1 right/bottom, 3x3, stride 2) floors H/2. */
    static int encodedSize(int n, int levels) {
        for (int i = 1; i < levels; i++) n /= 2;
        return n;
    }

    /** An edge tile of a tiled encode must survive every downsampler (torch rejects a 1-pixel input to the 3x3 conv). */
    private Tensor checkTile(Tensor tile) {
        for (int i = 1, h = (int) tile.dim(2), w = (int) tile.dim(3); i < config.levels(); i++, h /= 2, w /= 2) {
            if (h < 2 || w < 2) {
                throw new IllegalArgumentException("AutoencoderKL tiled encode: an edge tile of " + tile.dim(2) + "x" + tile.dim(3)
                        + " pixels is too small for " + (config.levels() - 1) + " downsamplers; choose an image size that "
                        + "leaves edge tiles of at least " + (1 << (config.levels() - 1)) + " pixels");
            }
        }
        return tile;
    }

    private void checkLatents(Tensor z) {
        VaeInputs.checkLatents("AutoencoderKL", z, config.latentChannels());
    }

    private void checkImage(Tensor x) {
        VaeInputs.checkImage("AutoencoderKL", x, config.inChannels(), scaleFactor());
    }

    private static Tensor checkedResult(String what, Tensor t) {
        return VaeInputs.checkedResult("AutoencoderKL " + what, t);
    }

    @Override
    public void close() {
        resources.close();
    }
}
