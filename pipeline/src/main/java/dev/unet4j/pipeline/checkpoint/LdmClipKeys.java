package dev.unet4j.pipeline.checkpoint;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Text-encoder keys of a single file under transformers' {@code CLIPTextModel} names, as diffusers 0.31's
 * {@code convert_ldm_clip_checkpoint} (SD 1.x {@code cond_stage_model.transformer.}, SDXL
 * {@code conditioner.embedders.0.transformer.}: already transformers names, the prefix removed) and
 * {@code convert_open_clip_checkpoint} (SD 2.x {@code cond_stage_model.model.}, SDXL {@code conditioner.embedders.1.model.}:
 * {@code resblocks.N} to {@code text_model.encoder.layers.N}, {@code ln_1/ln_2} to {@code layer_norm1/2},
 * {@code mlp.c_fc/c_proj} to {@code mlp.fc1/fc2}, the fused {@code attn.in_proj_weight/bias} split into
 * {@code q_proj/k_proj/v_proj}, {@code text_projection} transposed). Resblocks at or past {@code layers} (SD 2.x keeps
 * the 24th, its text encoder uses 23) and {@code position_ids} are returned in {@code ignored}.
 */
final class LdmClipKeys {
    private static final Pattern RESBLOCK = Pattern.compile("transformer\\.resblocks\\.(\\d+)\\.(.+)");

    private LdmClipKeys() {
    }

    static Map<String, TensorRef> clip(Set<String> keys, String prefix, Set<String> unmapped, Set<String> ignored) {
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (String full : keys) {
            String k = full.substring(prefix.length());
            if (k.endsWith("position_ids")) {
                ignored.add(full);
                continue;
            }
            // transformers < 4.x saved CLIPTextModel without the text_model. level
            String d = k.startsWith("text_model.") || k.startsWith("text_projection.") ? k : "text_model." + k;
            out.put(d, TensorRef.of(full));
        }
        return out;
    }

    /** @param layers the text encoder config's {@code num_hidden_layers}; {@code projection}: keep text_projection */
    static Map<String, TensorRef> openClip(Set<String> keys, String prefix, int layers, boolean projection,
                                           Set<String> unmapped, Set<String> ignored) {
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (String full : keys) {
            String k = full.substring(prefix.length());
            switch (k) {
                case "positional_embedding" -> out.put("text_model.embeddings.position_embedding.weight", TensorRef.of(full));
                case "token_embedding.weight" -> out.put("text_model.embeddings.token_embedding.weight", TensorRef.of(full));
                case "ln_final.weight" -> out.put("text_model.final_layer_norm.weight", TensorRef.of(full));
                case "ln_final.bias" -> out.put("text_model.final_layer_norm.bias", TensorRef.of(full));
                case "text_projection" -> {
                    if (projection) out.put("text_projection.weight", TensorRef.transposed(full));
                    else ignored.add(full);
                }
                case "logit_scale", "attn_mask" -> ignored.add(full);
                default -> {
                    Matcher m = RESBLOCK.matcher(k);
                    if (!m.matches()) {
                        if (k.endsWith("position_ids")) ignored.add(full);
                        else unmapped.add(full);
                        continue;
                    }
                    int n = Integer.parseInt(m.group(1));
                    if (n >= layers) {
                        ignored.add(full);
                        continue;
                    }
                    String layer = "text_model.encoder.layers." + n + ".";
                    String rest = m.group(2);
                    if (rest.equals("attn.in_proj_weight") || rest.equals("attn.in_proj_bias")) {
                        String kind = rest.endsWith("weight") ? "weight" : "bias";
                        String[] qkv = {"q_proj", "k_proj", "v_proj"};
                        for (int i = 0; i < 3; i++) out.put(layer + "self_attn." + qkv[i] + "." + kind, TensorRef.rows(full, i, 3));
                        continue;
                    }
                    String d = rest.replace("ln_1", "layer_norm1").replace("ln_2", "layer_norm2").replace("mlp.c_fc", "mlp.fc1")
                            .replace("mlp.c_proj", "mlp.fc2").replace("attn.out_proj", "self_attn.out_proj");
                    if (d.equals(rest) && !rest.startsWith("self_attn")) unmapped.add(full);
                    else out.put(layer + d, TensorRef.of(full));
                }
            }
        }
        return out;
    }
}
