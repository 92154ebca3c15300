package dev.unet4j.pipeline.lora;

import dev.unet4j.pipeline.checkpoint.LdmUNetKeys;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * kohya UNet module names in the original LDM / SGM layout ({@code lora_unet_input_blocks_4_1_proj_in},
 * {@code lora_unet_middle_block_1_transformer_blocks_0_attn2_to_k}, {@code lora_unet_output_blocks_2_1_conv}, LoCon's
 * {@code lora_unet_input_blocks_1_0_in_layers_2}), as kohya's sd-scripts write them for SD 1.x/SDXL, under diffusers'
 * module paths: the block indices as diffusers' {@code _maybe_map_sgm_blocks_to_diffusers}
 * ({@code lora_conversion_utils.py}) maps them, the resnet and sampler modules as {@code _convert_unet_lora_key} does
 * ({@code in_layers_2} conv1, {@code out_layers_3} conv2, {@code emb_layers_1} time_emb_proj, {@code skip_connection}
 * conv_shortcut, {@code op} the downsampler's conv). The block arithmetic is the single-file checkpoint's
 * ({@link LdmUNetKeys}), so per-block layer counts work, and an {@code output_blocks_i_1_conv} of a block without
 * attention is its upsampler (diffusers' LoRA converter would send it to a missing {@code attentions} entry).
 */
final class LdmLoraNames {
    private static final Pattern BLOCK = Pattern.compile("(input_blocks|output_blocks)_(\\d+)_(\\d+)(?:_(.+))?");
    private static final Pattern MIDDLE = Pattern.compile("middle_block_(\\d+)_(.+)");
    private static final Pattern TOP = Pattern.compile("(time_embed|out)_(\\d+)|label_emb_0_(\\d+)");
    private static final Pattern DOWN_RESNET = Pattern.compile("down_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\..*");

    private LdmLoraNames() {
    }

    /** Whether {@code flatName} (after {@code lora_unet_}) is in the LDM layout. */
    static boolean isLdm(String flatName) {
        return BLOCK.matcher(flatName).matches() || MIDDLE.matcher(flatName).matches() || TOP.matcher(flatName).matches();
    }

    /**
     * The diffusers module path of {@code flatName} with '.' written '_' (what {@link LayerCatalog#byFlatName} takes),
     * or null when it names no module of a UNet with these per-block layer counts.
     */
    static String diffusersFlat(String flatName, int[] layersPerBlock, String additionEmbed) {
        String dotted;
        Matcher m;
        if ((m = BLOCK.matcher(flatName)).matches()) {
            dotted = m.group(1) + "." + m.group(2) + "." + m.group(3) + (m.group(4) == null ? "" : "." + resnetIndices(m.group(4)));
        } else if ((m = MIDDLE.matcher(flatName)).matches()) {
            dotted = "middle_block." + m.group(1) + "." + resnetIndices(m.group(2));
        } else if ((m = TOP.matcher(flatName)).matches()) {
            dotted = m.group(1) != null ? m.group(1) + "." + m.group(2) : "label_emb.0." + m.group(3);
        } else {
            return null;
        }
        String d = LdmUNetKeys.diffusersName(dotted + ".weight", layersPerBlock, additionEmbed);
        return d == null ? null : LayerCatalog.flat(d.substring(0, d.length() - ".weight".length()));
    }

    /** The layer {@code flatName} names in {@code unet}'s catalog (its per-block layer counts read from the catalog), or null. */
    static LayerCatalog.Layer resolve(LayerCatalog unet, String flatName) {
        if (!isLdm(flatName)) return null;
        Map<Integer, Integer> layers = new TreeMap<>();
        for (String p : unet.paths()) {
            Matcher m = DOWN_RESNET.matcher(p);
            if (m.matches()) layers.merge(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)) + 1, Math::max);
        }
        int[] perBlock = new int[layers.size()];
        for (int b = 0; b < perBlock.length; b++) {
            Integer n = layers.get(b);
            if (n == null) return null; // not a UNet2DConditionModel's catalog
            perBlock[b] = n;
        }
        String embed = unet.get("add_embedding.linear_1") != null ? "text_time" : null;
        String d = diffusersFlat(flatName, perBlock, embed);
        return d == null ? null : unet.byFlatName(d);
    }

    /** LDM resnet modules carry their Sequential index: {@code in_layers_2} is {@code in_layers.2}. */
    private static String resnetIndices(String rest) {
        return rest.replace("in_layers_", "in_layers.").replace("out_layers_", "out_layers.").replace("emb_layers_", "emb_layers.");
    }
}
