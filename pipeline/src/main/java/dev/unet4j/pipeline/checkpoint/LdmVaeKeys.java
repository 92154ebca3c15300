package dev.unet4j.pipeline.checkpoint;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The VAE keys of an LDM checkpoint ({@code first_stage_model.} stripped) under diffusers' names, as diffusers 0.31's
 * {@code convert_ldm_vae_checkpoint}: {@code encoder.down.i.block.j} / {@code .downsample} are down block i's resnet j
 * / downsampler; the decoder's {@code up.i} is {@code up_blocks.(n-1-i)} (LDM counts from the lowest resolution);
 * {@code mid.block_1/2} and {@code mid.attn_1} ({@code norm/q/k/v/proj_out} to {@code group_norm/to_q/to_k/to_v/
 * to_out.0}); {@code norm_out} to {@code conv_norm_out}; {@code nin_shortcut} to {@code conv_shortcut}.
 */
final class LdmVaeKeys {
    private static final Pattern DOWN = Pattern.compile("encoder\\.down\\.(\\d+)\\.(block\\.(\\d+)|downsample)\\.(.+)");
    private static final Pattern UP = Pattern.compile("decoder\\.up\\.(\\d+)\\.(block\\.(\\d+)|upsample)\\.(.+)");
    private static final Pattern MID = Pattern.compile("(encoder|decoder)\\.mid\\.(block_1|block_2|attn_1)\\.(.+)");
    private static final Set<String> SAME = Set.of("conv_in", "conv_out");

    private LdmVaeKeys() {
    }

    /** @param levels the config's {@code len(block_out_channels)} (the decoder's up levels) */
    static Map<String, TensorRef> map(Set<String> keys, String prefix, int levels, Set<String> unmapped) {
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (String full : keys) {
            String d = rename(full.substring(prefix.length()), levels);
            if (d == null) unmapped.add(full);
            else out.put(d, TensorRef.of(full));
        }
        return out;
    }

    private static String rename(String k, int levels) {
        if (k.startsWith("quant_conv.") || k.startsWith("post_quant_conv.")) return k;
        for (String part : new String[] {"encoder.", "decoder."}) {
            if (!k.startsWith(part)) continue;
            String rest = k.substring(part.length());
            int dot = rest.indexOf('.');
            if (dot > 0 && SAME.contains(rest.substring(0, dot))) return k;
            if (rest.startsWith("norm_out.")) return part + "conv_norm_out." + rest.substring(9);
        }
        Matcher m = DOWN.matcher(k);
        if (m.matches()) {
            String base = "encoder.down_blocks." + m.group(1);
            return m.group(3) != null ? base + ".resnets." + m.group(3) + "." + resnet(m.group(4))
                    : base + ".downsamplers.0." + m.group(4);
        }
        m = UP.matcher(k);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(1));
            if (i >= levels) return null;
            String base = "decoder.up_blocks." + (levels - 1 - i);
            return m.group(3) != null ? base + ".resnets." + m.group(3) + "." + resnet(m.group(4))
                    : base + ".upsamplers.0." + m.group(4);
        }
        m = MID.matcher(k);
        if (m.matches()) {
            String base = m.group(1) + ".mid_block.";
            String rest = m.group(3);
            return switch (m.group(2)) {
                case "block_1" -> base + "resnets.0." + resnet(rest);
                case "block_2" -> base + "resnets.1." + resnet(rest);
                default -> attention(base + "attentions.0.", rest);
            };
        }
        return null;
    }

    private static String resnet(String rest) {
        return rest.replace("nin_shortcut", "conv_shortcut");
    }

    private static String attention(String base, String rest) {
        int dot = rest.indexOf('.');
        if (dot < 0) return null;
        String name = switch (rest.substring(0, dot)) {
            case "norm" -> "group_norm";
            case "q" -> "to_q";
            case "k" -> "to_k";
            case "v" -> "to_v";
            case "proj_out" -> "to_out.0";
            default -> null;
        };
        return name == null ? null : base + name + rest.substring(dot);
    }
}
