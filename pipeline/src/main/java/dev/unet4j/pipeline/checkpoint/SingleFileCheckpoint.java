package dev.unet4j.pipeline.checkpoint;

import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.text.ClipTextConfig;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.vae.AutoencoderKLConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One {@code .safetensors} file in the original LDM / A1111 layout, open for reading (F32, F16 and BF16 tensors are
 * decoded to float32 as they are requested; nothing is converted up front, so the peak is one component's float32
 * weights). Each component is a {@link ParameterSource} under diffusers' names that the ordinary builders take:
 * {@link #unet}, {@link #vae}, {@link #textEncoder}. Keys outside the components are ignored with a debug line when
 * they are known extras (EMA copies, the LDM noise-schedule buffers, {@code position_ids}) and listed by
 * {@link #foreignKeys()} otherwise.
 */
public final class SingleFileCheckpoint implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SingleFileCheckpoint.class);

    public static final String UNET = "model.diffusion_model.";
    public static final String VAE = "first_stage_model.";
    public static final String CLIP = "cond_stage_model.transformer.";
    public static final String OPEN_CLIP = "cond_stage_model.model.";
    public static final String XL_CLIP = "conditioner.embedders.0.transformer.";
    public static final String XL_OPEN_CLIP = "conditioner.embedders.1.model.";

    /** LDM's DDPM buffers ({@code register_schedule}) and EMA bookkeeping: stored, never weights of a component. */
    private static final Set<String> LDM_BUFFERS = Set.of("betas", "alphas_cumprod", "alphas_cumprod_prev",
            "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod",
            "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
            "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar", "v_pred");
    private static final List<String> IGNORED_PREFIXES = List.of("model_ema.", "first_stage_model.loss.", "lora_");

    private final Path file;
    private final WeightSource weights;
    private final LdmModelType type;

    private SingleFileCheckpoint(Path file, WeightSource weights) {
        this.file = file;
        this.weights = weights;
        this.type = LdmModelType.detect(weights.names(), this::shape);
    }

    /**
     * Opens {@code file}; pickle checkpoints ({@code .ckpt}, {@code .pt}, {@code .bin}) are refused with the reason
     * and a conversion recipe, without reading them.
     */
    public static SingleFileCheckpoint open(Path file) throws IOException {
        PickleRefusal.check(file);
        WeightSource w = WeightSource.open(List.of(file));
        try {
            if (keysUnder(w.names(), UNET).isEmpty()) {
                throw new ModelException(file + ": not a single-file Stable Diffusion checkpoint: no tensor under \"" + UNET
                        + "\" (a diffusers pipeline folder, a LoRA or a bare UNet file?); first keys: " + first(w.names(), 5));
            }
            return new SingleFileCheckpoint(file, w);
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    public Path file() {
        return file;
    }

    /** The architecture family detected from the keys and shapes. */
    public LdmModelType type() {
        return type;
    }

    /** Every key of the file. */
    public Set<String> keys() {
        return weights.names();
    }

    /** Whether the file holds a VAE ({@code first_stage_model.*}); some UNet-only files do not. */
    public boolean hasVae() {
        return !keysUnder(weights.names(), VAE).isEmpty();
    }

    /** Whether the file holds an SD 1.x/2.x text encoder. */
    public boolean hasTextEncoder() {
        return !keysUnder(weights.names(), CLIP).isEmpty() || !keysUnder(weights.names(), OPEN_CLIP).isEmpty();
    }

    /** The UNet ({@code model.diffusion_model.*}) under diffusers' names, for {@code config}. */
    public ParameterSource unet(UNet2DConditionConfig config) {
        Set<String> unmapped = new LinkedHashSet<>();
        Map<String, TensorRef> refs = LdmUNetKeys.map(keysUnder(weights.names(), UNET), UNET, config.layersPerBlock(),
                config.additionEmbedType(), unmapped);
        return new RenamedSource(weights, refs, unmapped);
    }

    /** The VAE ({@code first_stage_model.*}) under diffusers' names, for {@code config}. */
    public ParameterSource vae(AutoencoderKLConfig config) {
        Set<String> unmapped = new LinkedHashSet<>();
        Set<String> keys = new LinkedHashSet<>(keysUnder(weights.names(), VAE));
        keys.removeIf(k -> k.startsWith("first_stage_model.loss."));
        Map<String, TensorRef> refs = LdmVaeKeys.map(keys, VAE, config.blockOutChannels().length, unmapped);
        return new RenamedSource(weights, refs, unmapped);
    }

    /** The SD 1.x CLIP or SD 2.x OpenCLIP text encoder under transformers' names, for {@code config}. */
    public ParameterSource textEncoder(ClipTextConfig config) {
        Set<String> unmapped = new LinkedHashSet<>();
        Set<String> ignored = new TreeSet<>();
        Map<String, TensorRef> refs;
        Set<String> clip = keysUnder(weights.names(), CLIP);
        if (!clip.isEmpty()) {
            refs = LdmClipKeys.clip(clip, CLIP, unmapped, ignored);
        } else {
            refs = LdmClipKeys.openClip(keysUnder(weights.names(), OPEN_CLIP), OPEN_CLIP, config.numHiddenLayers(),
                    config.declaresProjection(), unmapped, ignored);
        }
        if (!ignored.isEmpty()) LOG.debug("{}: text encoder keys ignored (not used by the {}-layer model): {}", file, config.numHiddenLayers(), ignored);
        return new RenamedSource(weights, refs, unmapped);
    }

    /**
     * SDXL's first text encoder ({@code conditioner.embedders.0.transformer.*}, CLIP ViT-L, transformers names) for
     * {@code config}; null when the file has none.
     */
    public ParameterSource xlTextEncoder(ClipTextConfig config) {
        Set<String> keys = keysUnder(weights.names(), XL_CLIP);
        if (keys.isEmpty()) return null;
        Set<String> unmapped = new LinkedHashSet<>();
        Set<String> ignored = new TreeSet<>();
        return new RenamedSource(weights, LdmClipKeys.clip(keys, XL_CLIP, unmapped, ignored), unmapped);
    }

    /**
     * SDXL's second text encoder ({@code conditioner.embedders.1.model.*}, OpenCLIP bigG, as diffusers'
     * {@code convert_open_clip_checkpoint}: fused in_proj split, {@code text_projection} transposed for
     * {@code CLIPTextModelWithProjection}) for {@code config}; null when the file has none.
     */
    public ParameterSource xlTextEncoder2(ClipTextConfig config) {
        Set<String> keys = keysUnder(weights.names(), XL_OPEN_CLIP);
        if (keys.isEmpty()) return null;
        Set<String> unmapped = new LinkedHashSet<>();
        Set<String> ignored = new TreeSet<>();
        Map<String, TensorRef> refs = LdmClipKeys.openClip(keys, XL_OPEN_CLIP, config.numHiddenLayers(), true, unmapped, ignored);
        if (!ignored.isEmpty()) LOG.debug("{}: SDXL text encoder 2 keys ignored: {}", file, ignored);
        return new RenamedSource(weights, refs, unmapped);
    }

    /** Keys that belong to no component and are not known extras (reported as a load error). */
    public Set<String> foreignKeys() {
        Set<String> out = new TreeSet<>();
        Set<String> ignored = new TreeSet<>();
        for (String k : weights.names()) {
            if (k.startsWith(UNET) || k.startsWith(VAE) && !k.startsWith("first_stage_model.loss.") || k.startsWith(CLIP)
                    || k.startsWith(OPEN_CLIP) || type.xl() && (k.startsWith(XL_CLIP) || k.startsWith(XL_OPEN_CLIP))) continue;
            if (LDM_BUFFERS.contains(k) || IGNORED_PREFIXES.stream().anyMatch(k::startsWith)
                    || k.startsWith("cond_stage_model.") && k.endsWith("position_ids")) ignored.add(k);
            else out.add(k);
        }
        if (!ignored.isEmpty()) LOG.debug("{}: {} extra keys ignored (EMA copies, LDM schedule buffers, position_ids): {}", file, ignored.size(), first(ignored, 8));
        return out;
    }

    private long[] shape(String key) {
        try {
            return weights.info(key).shape();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the header of " + key + " in " + file, e);
        }
    }

    static Set<String> keysUnder(Set<String> keys, String prefix) {
        Set<String> out = new LinkedHashSet<>();
        for (String k : keys) if (k.startsWith(prefix)) out.add(k);
        return out;
    }

    static String first(Set<String> keys, int n) {
        List<String> l = new ArrayList<>();
        for (String k : keys) {
            if (l.size() == n) {
                l.add("... (" + keys.size() + " in all)");
                break;
            }
            l.add(k);
        }
        return String.join(", ", l);
    }

    @Override
    public void close() throws IOException {
        weights.close();
    }

    @Override
    public String toString() {
        return file + " (" + type.diffusersName() + ")";
    }
}
