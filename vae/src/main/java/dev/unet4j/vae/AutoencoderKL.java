package dev.unet4j.vae;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.model.DiffusersConfig;
import dev.unet4j.core.model.ModelFiles;
import dev.unet4j.core.model.ModelLocator;
import dev.unet4j.core.model.WeightSource;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.AttentionInfo;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NormInfo;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.unet.WeightMismatchException;
import dev.unet4j.unet.nn.ConvNode;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Activation;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.unet.nn.Weights;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
public final class AutoencoderKL implements AutoCloseable {
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
        ModelFiles files = ModelLocator.locate(vaeDir, ModelLocator.Options.defaults().withSubfolder("vae").withVariant(options.variant()));
        DiffusersConfig raw = DiffusersConfig.load(files.configJson());
        String cls = raw.className();
        if (cls != null && !cls.equals("AutoencoderKL")) {
            throw new UnsupportedConfigException("config " + files.configJson() + ": _class_name \"" + cls + "\" is not AutoencoderKL");
        }
        AutoencoderKLConfig config = AutoencoderKLConfig.from(raw);
        try (WeightSource weights = WeightSource.open(files)) {
            String name = files.weightFiles().size() == 1 ? files.weightFiles().get(0).toString() : files.folder() + " (sharded)";
            return build(config, ParameterSource.of(weights), name, options);
        }
    }

    /**
     * Builds the VAE from any parameter source with diffusers' key names ({@code encoder.down_blocks.0.resnets.0.norm1
     * .weight}, ...); the mid-block attention may also use the legacy {@code query/key/value/proj_attn} names and
     * {@code [C, C, 1, 1]} conv-shaped weights. One {@link WeightMismatchException} lists every missing, mis-shaped and
     * unexpected tensor.
     */
    public static AutoencoderKL build(AutoencoderKLConfig config, ParameterSource source, String sourceName, LoadOptions options) {
        Weights w = new Weights(new ConvShapedLinears(source), sourceName, options.factory());
        try {
            return new AutoencoderKL(config, w, options.kernels());
        } catch (RuntimeException e) {
            if (!(e instanceof WeightMismatchException)) w.abandon();
            throw e;
        }
    }

    public AutoencoderKLConfig config() {
        return config;
    }

    public Kernels kernels() {
        return kernels;
    }

    /** Pixels per latent along each axis ({@code 2^(levels-1)}, 8 for SD). */
    public int scaleFactor() {
        return config.scaleFactor();
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
    public Tensor decode(Tensor latents) {
        checkLatents(latents);
        try (VaeCall call = new VaeCall(kernels, Set.of())) {
            return checkedResult("decode", VaeCall.export(decodeIn(call, latents)));
        }
    }

    /** Decode with the outputs of the named nodes ({@code decoder.mid_block}, ...) captured into {@code captures}. */
    Tensor decode(Tensor latents, Set<String> capture, Map<String, Tensor> captures) {
        checkLatents(latents);
        try (VaeCall call = new VaeCall(kernels, capture)) {
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
    public Tensor decodeTiled(Tensor latents) {
        checkLatents(latents);
        int tl = config.tileLatentSize(), ts = config.sampleSize();
        if (latents.dim(2) <= tl && latents.dim(3) <= tl) return decode(latents);
        if (tl < 1) throw new UnsupportedConfigException("AutoencoderKL: sample_size " + ts + " gives latent tiles of size 0");
        int step = (int) (tl * (1 - OVERLAP)), blend = (int) (ts * OVERLAP), rowLimit = ts - blend;
        int f = scaleFactor();
        try (VaeCall call = new VaeCall(kernels, Set.of())) {
            return checkedResult("tiled decode", TiledRunner.run(latents, tl, step, blend, rowLimit, n -> n * f,
                    tile -> VaeCall.export(decodeIn(call, tile))));
        }
    }

    /** diffusers' {@code tile_overlap_factor}. */
    static final double OVERLAP = 0.25;

    // ------------------------------------------------------------------ encode

    /** {@code vae.encode(x).latent_dist} for an image {@code [B, in, H, W]} (H, W multiples of {@link #scaleFactor}). */
    public LatentDistribution encode(Tensor image) {
        checkImage(image);
        try (VaeCall call = new VaeCall(kernels, Set.of())) {
            Tensor m = encodeIn(call, image);
            checkedResult("encode", m);
            return LatentDistribution.ofMoments(m);
        }
    }

    /** Encode with captured node outputs (tests). */
    LatentDistribution encode(Tensor image, Set<String> capture, Map<String, Tensor> captures) {
        checkImage(image);
        try (VaeCall call = new VaeCall(kernels, capture)) {
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
        checkImage(image);
        int ts = config.sampleSize(), tl = config.tileLatentSize();
        if (image.dim(2) <= ts && image.dim(3) <= ts) return encode(image);
        int step = (int) (ts * (1 - OVERLAP)), blend = (int) (tl * OVERLAP), rowLimit = tl - blend;
        int levels = config.levels();
        try (VaeCall call = new VaeCall(kernels, Set.of());
             Tensor moments = TiledRunner.run(image, ts, step, blend, rowLimit, n -> encodedSize(n, levels),
                     tile -> VaeCall.export(encodeIn(call, checkTile(tile))))) {
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

    // ------------------------------------------------------------------ latent scale

    /** {@code (z - shift_factor) * scaling_factor}: VAE latents (e.g. a posterior sample) to the diffusion model's scale. */
    public Tensor scaleLatents(Tensor z) {
        float shift = (float) config.shift(), scale = (float) config.scalingFactor();
        float[] v = z.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = (v[i] - shift) * scale;
        return Tensor.of(v, z.shape());
    }

    /** {@code z / scaling_factor + shift_factor}: the diffusion model's latents back to the VAE's scale, before decoding. */
    public Tensor unscaleLatents(Tensor z) {
        float shift = (float) config.shift(), scale = (float) config.scalingFactor();
        float[] v = z.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = v[i] / scale + shift;
        return Tensor.of(v, z.shape());
    }

    // ------------------------------------------------------------------ input checks

    private void checkLatents(Tensor z) {
        if (z == null) throw new IllegalArgumentException("AutoencoderKL.decode: latents are null");
        if (z.rank() != 4) throw new IllegalArgumentException("AutoencoderKL.decode: latents must be [B, " + config.latentChannels() + ", h, w], got " + z);
        if (z.dim(1) != config.latentChannels()) {
            throw new IllegalArgumentException("AutoencoderKL.decode: latents have " + z.dim(1) + " channels, the VAE has "
                    + config.latentChannels() + " latent_channels (got " + z + ")");
        }
        checkFinite("AutoencoderKL.decode: latents", z);
    }

    private void checkImage(Tensor x) {
        if (x == null) throw new IllegalArgumentException("AutoencoderKL.encode: image is null");
        if (x.rank() != 4) throw new IllegalArgumentException("AutoencoderKL.encode: image must be [B, " + config.inChannels() + ", H, W], got " + x);
        if (x.dim(1) != config.inChannels()) {
            throw new IllegalArgumentException("AutoencoderKL.encode: image has " + x.dim(1) + " channels, the VAE takes "
                    + config.inChannels() + " (in_channels; got " + x + ")");
        }
        int f = scaleFactor();
        if (x.dim(2) % f != 0 || x.dim(3) % f != 0) {
            throw new IllegalArgumentException("AutoencoderKL.encode: image size " + x.dim(2) + "x" + x.dim(3)
                    + " is not a multiple of the VAE scale factor " + f + " (2^(levels-1)); resize or crop it first");
        }
        checkFinite("AutoencoderKL.encode: image", x);
    }

    /** Throws naming the first NaN or infinity of {@code t} and where it is. */
    static void checkFinite(String what, Tensor t) {
        FloatBuffer fb = t.rawBuffer();
        if (t.isContiguous()) {
            for (int i = 0, n = fb.remaining(); i < n; i++) {
                if (!Float.isFinite(fb.get(i))) throw nonFinite(what, t, i, fb.get(i));
            }
            return;
        }
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) if (!Float.isFinite(v[i])) throw nonFinite(what, t, i, v[i]);
    }

    private static IllegalArgumentException nonFinite(String what, Tensor t, long flat, float v) {
        long[] s = t.shape(), idx = new long[s.length];
        for (int d = s.length - 1; d >= 0; d--) {
            idx[d] = flat % s[d];
            flat /= s[d];
        }
        return new IllegalArgumentException(what + " " + t + " holds " + v + " at " + java.util.Arrays.toString(idx));
    }

    /** Results must be finite too: a NaN here comes from the weights (the inputs were checked). */
    private static Tensor checkedResult(String what, Tensor t) {
        try {
            checkFinite("AutoencoderKL " + what + " produced a non-finite value (the input was finite, so the weights "
                    + "or an overflow are the cause):", t);
            return t;
        } catch (IllegalArgumentException e) {
            t.close();
            throw new ArithmeticException(e.getMessage());
        }
    }

    @Override
    public void close() {
        resources.close();
    }
}
