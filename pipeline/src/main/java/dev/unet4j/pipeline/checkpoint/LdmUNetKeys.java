package dev.unet4j.pipeline.checkpoint;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The UNet keys of an LDM checkpoint ({@code model.diffusion_model.} stripped) under diffusers' names, as diffusers
 * 0.31's {@code convert_ldm_unet_checkpoint}: {@code input_blocks.(b*(L+1)+l+1).0} is down block b's resnet l
 * ({@code .0.op} its downsampler), {@code .1} its attention; {@code output_blocks.(b*(L+1)+l).0} is up block b's
 * resnet l, {@code .1} its attention or (holding only {@code conv.*}) its upsampler, {@code .2} the upsampler after an
 * attention; {@code middle_block.0/1/2} are the mid resnet, attention, resnet. L = {@code layers_per_block}; with
 * per-block counts the indices run on block by block (each resnet, then the downsampler, takes one index). Also used
 * for kohya LoRA module names in this layout ({@link #diffusersName}).
 */
public final class LdmUNetKeys {
    private static final Pattern BLOCK = Pattern.compile("(input_blocks|output_blocks|middle_block)\\.(\\d+)(?:\\.(\\d+))?\\.(.+)");

    private LdmUNetKeys() {
    }

    /**
     * diffusers key to stored key for every key of {@code keys} that maps; the others go to {@code unmapped}.
     *
     * @param prefix          the stored prefix ({@code model.diffusion_model.})
     * @param layersPerBlock  the config's {@code layers_per_block} of each down block
     * @param additionEmbed   the config's {@code addition_embed_type} ({@code text_time} for SDXL: {@code label_emb}
     *                        is then the add embedding, else the class embedding)
     */
    static Map<String, TensorRef> map(Set<String> keys, String prefix, int[] layersPerBlock, String additionEmbed,
                                      Set<String> unmapped) {
        Map<String, TensorRef> out = new LinkedHashMap<>();
        Blocks blocks = new Blocks(layersPerBlock);
        for (String full : keys) {
            String k = full.substring(prefix.length());
            String d = rename(k, blocks, additionEmbed, group -> onlyConv(keys, prefix + group));
            if (d == null) unmapped.add(full);
            else out.put(d, TensorRef.of(full));
        }
        return out;
    }

    /**
     * One LDM UNet parameter name ({@code input_blocks.4.1.proj_in.weight}, no prefix) under diffusers' name, or null
     * when it names nothing; an {@code output_blocks.i.j} group whose parameter is {@code conv.*} counts as the
     * upsampler (LoRA files name one module, not the group's keys).
     */
    public static String diffusersName(String key, int[] layersPerBlock, String additionEmbed) {
        return rename(key, new Blocks(layersPerBlock), additionEmbed, group -> true);
    }

    private static final Pattern DIFFUSERS_BLOCK =
            Pattern.compile("(down_blocks|up_blocks)\\.(\\d+)\\.(resnets|attentions|downsamplers|upsamplers)\\.(\\d+)\\.(.+)");
    private static final String[][] TOP = {{"time_embedding.linear_1.", "time_embed.0."}, {"time_embedding.linear_2.", "time_embed.2."},
            {"add_embedding.linear_1.", "label_emb.0.0."}, {"add_embedding.linear_2.", "label_emb.0.2."},
            {"class_embedding.linear_1.", "label_emb.0.0."}, {"class_embedding.linear_2.", "label_emb.0.2."},
            {"conv_in.", "input_blocks.0.0."}, {"conv_norm_out.", "out.0."}, {"conv_out.", "out.2."},
            {"mid_block.resnets.0.", "middle_block.0."}, {"mid_block.attentions.0.", "middle_block.1."}, {"mid_block.resnets.1.", "middle_block.2."}};

    /**
     * The inverse of {@link #diffusersName}: a diffusers UNet parameter name under its LDM name (for writing single
     * files), or null when it has none.
     *
     * @param upAttention whether each up block has attentions (its upsampler is then {@code output_blocks.i.2}, else
     *                    {@code output_blocks.i.1})
     */
    public static String ldmName(String d, int[] layersPerBlock, boolean[] upAttention) {
        for (String[] t : TOP) {
            if (d.startsWith(t[0])) return t[1] + (t[1].startsWith("middle_block.1") ? d.substring(t[0].length()) : resnetLdm(d.substring(t[0].length())));
        }
        Matcher m = DIFFUSERS_BLOCK.matcher(d);
        if (!m.matches()) return null;
        Blocks blocks = new Blocks(layersPerBlock);
        int b = Integer.parseInt(m.group(2)), l = Integer.parseInt(m.group(4));
        String kind = m.group(3), rest = m.group(5);
        boolean down = m.group(1).equals("down_blocks");
        List<int[]> list = down ? blocks.in() : blocks.up();
        int layer = switch (kind) {
            case "downsamplers" -> -1;
            case "upsamplers" -> b < layersPerBlock.length ? layersPerBlock[layersPerBlock.length - 1 - b] : -2;
            default -> l;
        };
        int index = -1;
        for (int i = 0; i < list.size(); i++) if (list.get(i) != null && list.get(i)[0] == b && list.get(i)[1] == layer) index = i;
        if (index < 0) return null;
        String block = (down ? "input_blocks." : "output_blocks.") + index + ".";
        return switch (kind) {
            case "resnets" -> block + "0." + resnetLdm(rest);
            case "attentions" -> block + "1." + rest;
            case "downsamplers" -> rest.startsWith("conv.") ? block + "0.op." + rest.substring(5) : null;
            default -> block + (upAttention[b] ? "2." : "1.") + rest;
        };
    }

    /** The inverse of {@link #resnet}. */
    private static String resnetLdm(String rest) {
        return rest.replace("norm1", "in_layers.0").replace("conv1", "in_layers.2").replace("norm2", "out_layers.0")
                .replace("conv2", "out_layers.3").replace("time_emb_proj", "emb_layers.1").replace("conv_shortcut", "skip_connection");
    }

    /** input_blocks / output_blocks index to {block, layer} (layer -1 = downsampler; input_blocks.0 is conv_in). */
    private record Blocks(List<int[]> in, List<int[]> up) {
        Blocks(int[] layersPerBlock) {
            this(new ArrayList<>(), new ArrayList<>());
            int n = layersPerBlock.length;
            in.add(null);
            for (int b = 0; b < n; b++) {
                for (int l = 0; l < layersPerBlock[b]; l++) in.add(new int[] {b, l});
                if (b < n - 1) in.add(new int[] {b, -1});
            }
            for (int b = 0; b < n; b++) {
                for (int l = 0; l <= layersPerBlock[n - 1 - b]; l++) up.add(new int[] {b, l});
            }
        }
    }

    /** {@code convOnlyGroup}: whether an {@code output_blocks.i.j.} group holds only {@code conv.*} (an upsampler). */
    private static String rename(String k, Blocks blocks, String additionEmbed, Predicate<String> convOnlyGroup) {
        List<int[]> in = blocks.in(), up = blocks.up();
        String embed = "text_time".equals(additionEmbed) ? "add_embedding" : "class_embedding";
        if (k.startsWith("time_embed.0.")) return "time_embedding.linear_1." + k.substring(13);
        if (k.startsWith("time_embed.2.")) return "time_embedding.linear_2." + k.substring(13);
        if (k.startsWith("label_emb.0.0.")) return embed + ".linear_1." + k.substring(14);
        if (k.startsWith("label_emb.0.2.")) return embed + ".linear_2." + k.substring(14);
        if (k.equals("label_emb.weight")) return "class_embedding.weight";
        if (k.startsWith("input_blocks.0.0.")) return "conv_in." + k.substring(17);
        if (k.startsWith("out.0.")) return "conv_norm_out." + k.substring(6);
        if (k.startsWith("out.2.")) return "conv_out." + k.substring(6);
        Matcher m = BLOCK.matcher(k);
        if (!m.matches()) return null;
        String kind = m.group(1);
        int i = Integer.parseInt(m.group(2));
        String rest = m.group(4);
        if (kind.equals("middle_block")) {
            // middle_block.N.rest: no third index
            if (m.group(3) != null) rest = m.group(3) + "." + rest;
            return switch (i) {
                case 0 -> "mid_block.resnets.0." + resnet(rest);
                case 1 -> "mid_block.attentions.0." + rest;
                case 2 -> "mid_block.resnets.1." + resnet(rest);
                default -> null;
            };
        }
        if (m.group(3) == null) return null;
        int j = Integer.parseInt(m.group(3));
        if (kind.equals("input_blocks")) {
            if (i < 1 || i >= in.size()) return null;
            int b = in.get(i)[0], l = in.get(i)[1];
            if (l < 0) return j == 0 && rest.startsWith("op.") ? "down_blocks." + b + ".downsamplers.0.conv." + rest.substring(3) : null;
            if (j == 0) return "down_blocks." + b + ".resnets." + l + "." + resnet(rest);
            if (j == 1) return "down_blocks." + b + ".attentions." + l + "." + rest;
            return null;
        }
        if (i >= up.size()) return null;
        int b = up.get(i)[0], l = up.get(i)[1];
        if (j == 0) return "up_blocks." + b + ".resnets." + l + "." + resnet(rest);
        if (rest.startsWith("conv.") && convOnlyGroup.test("output_blocks." + i + "." + j + ".")) return "up_blocks." + b + ".upsamplers.0.conv." + rest.substring(5);
        if (j == 1) return "up_blocks." + b + ".attentions." + l + "." + rest;
        return null;
    }

    /** diffusers' {@code renew_resnet_paths}. */
    private static String resnet(String rest) {
        return rest.replace("in_layers.0", "norm1").replace("in_layers.2", "conv1").replace("out_layers.0", "norm2")
                .replace("out_layers.3", "conv2").replace("emb_layers.1", "time_emb_proj").replace("skip_connection", "conv_shortcut");
    }

    /** Whether every key under {@code group} is {@code conv.weight} / {@code conv.bias} (an upsampler). */
    private static boolean onlyConv(Set<String> keys, String group) {
        for (String k : keys) {
            if (k.startsWith(group) && !k.equals(group + "conv.weight") && !k.equals(group + "conv.bias")) return false;
        }
        return true;
    }
}
