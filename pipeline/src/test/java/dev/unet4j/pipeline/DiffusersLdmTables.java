package dev.unet4j.pipeline;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.tensor.Tensor;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * diffusers' own diffusers-to-original key tables, transcribed for tests (an independent truth for unet4j's
 * single-file and LDM-named LoRA loaders): the UNet of {@code scripts/convert_diffusers_to_original_stable_diffusion.py}
 * (4 blocks of 2 layers, attention in down blocks 0-2 and up blocks 1-3: the SD 1.x layout sd-pipeline-tiny shares)
 * with SDXL's {@code label_emb} rows of {@code scripts/convert_diffusers_to_original_sdxl.py}; the VAE of the SDXL
 * script; OpenCLIP from {@code DIFFUSERS_TO_LDM_MAPPING["openclip"]} of {@code loaders/single_file_utils.py}.
 */
public final class DiffusersLdmTables {
    private DiffusersLdmTables() {
    }

    // ---- UNet: convert_diffusers_to_original_stable_diffusion.py, (stable-diffusion, HF Diffusers) pairs ----

    static final String[][] UNET_CONVERSION_MAP = {
            {"time_embed.0.weight", "time_embedding.linear_1.weight"}, {"time_embed.0.bias", "time_embedding.linear_1.bias"},
            {"time_embed.2.weight", "time_embedding.linear_2.weight"}, {"time_embed.2.bias", "time_embedding.linear_2.bias"},
            {"input_blocks.0.0.weight", "conv_in.weight"}, {"input_blocks.0.0.bias", "conv_in.bias"},
            {"out.0.weight", "conv_norm_out.weight"}, {"out.0.bias", "conv_norm_out.bias"},
            {"out.2.weight", "conv_out.weight"}, {"out.2.bias", "conv_out.bias"},
            // the following are for sdxl
            {"label_emb.0.0.weight", "add_embedding.linear_1.weight"}, {"label_emb.0.0.bias", "add_embedding.linear_1.bias"},
            {"label_emb.0.2.weight", "add_embedding.linear_2.weight"}, {"label_emb.0.2.bias", "add_embedding.linear_2.bias"},
    };
    static final String[][] UNET_CONVERSION_MAP_RESNET = {
            {"in_layers.0", "norm1"}, {"in_layers.2", "conv1"}, {"out_layers.0", "norm2"}, {"out_layers.3", "conv2"},
            {"emb_layers.1", "time_emb_proj"}, {"skip_connection", "conv_shortcut"},
    };

    static List<String[]> unetConversionMapLayer() {
        List<String[]> m = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) {
                m.add(new String[] {"input_blocks." + (3 * i + j + 1) + ".0.", "down_blocks." + i + ".resnets." + j + "."});
                if (i < 3) m.add(new String[] {"input_blocks." + (3 * i + j + 1) + ".1.", "down_blocks." + i + ".attentions." + j + "."});
            }
            for (int j = 0; j < 3; j++) {
                m.add(new String[] {"output_blocks." + (3 * i + j) + ".0.", "up_blocks." + i + ".resnets." + j + "."});
                if (i > 0) m.add(new String[] {"output_blocks." + (3 * i + j) + ".1.", "up_blocks." + i + ".attentions." + j + "."});
            }
            if (i < 3) {
                m.add(new String[] {"input_blocks." + 3 * (i + 1) + ".0.op.", "down_blocks." + i + ".downsamplers.0.conv."});
                m.add(new String[] {"output_blocks." + (3 * i + 2) + "." + (i == 0 ? 1 : 2) + ".", "up_blocks." + i + ".upsamplers.0."});
            }
        }
        m.add(new String[] {"middle_block.1.", "mid_block.attentions.0."});
        for (int j = 0; j < 2; j++) m.add(new String[] {"middle_block." + 2 * j + ".", "mid_block.resnets." + j + "."});
        return m;
    }

    /** convert_unet_state_dict for one key. */
    public static String unetKey(String hf) {
        for (String[] p : UNET_CONVERSION_MAP) if (p[1].equals(hf)) return p[0];
        String v = hf;
        if (hf.contains("resnets")) for (String[] p : UNET_CONVERSION_MAP_RESNET) v = v.replace(p[1], p[0]);
        for (String[] p : unetConversionMapLayer()) v = v.replace(p[1], p[0]);
        return v;
    }

    // ---- VAE: convert_diffusers_to_original_sdxl.py ----

    static List<String[]> vaeConversionMap() {
        List<String[]> m = new ArrayList<>(List.of(new String[] {"nin_shortcut", "conv_shortcut"},
                new String[] {"norm_out", "conv_norm_out"}, new String[] {"mid.attn_1.", "mid_block.attentions.0."}));
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) m.add(new String[] {"encoder.down." + i + ".block." + j + ".", "encoder.down_blocks." + i + ".resnets." + j + "."});
            if (i < 3) {
                m.add(new String[] {"down." + i + ".downsample.", "down_blocks." + i + ".downsamplers.0."});
                m.add(new String[] {"up." + (3 - i) + ".upsample.", "up_blocks." + i + ".upsamplers.0."});
            }
            for (int j = 0; j < 3; j++) m.add(new String[] {"decoder.up." + (3 - i) + ".block." + j + ".", "decoder.up_blocks." + i + ".resnets." + j + "."});
        }
        for (int i = 0; i < 2; i++) m.add(new String[] {"mid.block_" + (i + 1) + ".", "mid_block.resnets." + i + "."});
        return m;
    }

    static final String[][] VAE_CONVERSION_MAP_ATTN = {
            {"norm.", "group_norm."}, {"q.", "to_q."}, {"k.", "to_k."}, {"v.", "to_v."}, {"proj_out.", "to_out.0."},
    };

    public static String vaeKey(String hf) {
        String v = hf;
        for (String[] p : vaeConversionMap()) v = v.replace(p[1], p[0]);
        if (hf.contains("attentions")) for (String[] p : VAE_CONVERSION_MAP_ATTN) v = v.replace(p[1], p[0]);
        return v;
    }

    // ---- OpenCLIP: DIFFUSERS_TO_LDM_MAPPING["openclip"] of single_file_utils.py (diffusers -> ldm) ----

    static final String[][] OPENCLIP_LAYERS = {
            {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
            {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
            {"text_model.final_layer_norm.weight", "ln_final.weight"}, {"text_model.final_layer_norm.bias", "ln_final.bias"},
            {"text_projection.weight", "text_projection"},
    };
    static final String[][] OPENCLIP_TRANSFORMER = {
            {"text_model.encoder.layers.", "resblocks."}, {"layer_norm1", "ln_1"}, {"layer_norm2", "ln_2"},
            {".fc1.", ".c_fc."}, {".fc2.", ".c_proj."}, {".self_attn", ".attn"},
    };

    /**
     * A CLIPTextModelWithProjection file under OpenCLIP names below {@code prefix}: q/k/v concatenated into
     * {@code in_proj_*} ({@code code2idx = {q: 0, k: 1, v: 2}}), {@code text_projection} transposed.
     */
    public static void openClip(SafetensorsFile f, String prefix, Map<String, float[]> data, Map<String, long[]> shapes) throws IOException {
        Map<String, float[][]> qkv = new TreeMap<>();
        Map<String, long[]> qkvShape = new TreeMap<>();
        String[] codes = {"q", "k", "v"};
        outer:
        for (String n : new TreeSet<>(f.names())) {
            for (String[] p : OPENCLIP_LAYERS) {
                if (p[0].equals(n)) {
                    if (n.equals("text_projection.weight")) {
                        try (Tensor t = f.load(n)) {
                            long[] s = t.shape();
                            float[] a = t.toFloatArray(), tr = new float[a.length];
                            for (int r = 0; r < s[0]; r++) for (int c = 0; c < s[1]; c++) tr[(int) (c * s[0] + r)] = a[(int) (r * s[1] + c)];
                            data.put(prefix + p[1], tr);
                            shapes.put(prefix + p[1], new long[] {s[1], s[0]});
                        }
                    } else {
                        put(data, shapes, prefix + p[1], f, n);
                    }
                    continue outer;
                }
            }
            for (int c = 0; c < 3; c++) {
                for (String kind : new String[] {"weight", "bias"}) {
                    String tail = ".self_attn." + codes[c] + "_proj." + kind;
                    if (n.endsWith(tail)) {
                        String group = transformer(n.substring(0, n.length() - tail.length() + ".self_attn".length())) + ".in_proj_" + kind;
                        try (Tensor t = f.load(n)) {
                            qkv.computeIfAbsent(group, g -> new float[3][])[c] = t.toFloatArray();
                            qkvShape.put(group, t.shape());
                        }
                        continue outer;
                    }
                }
            }
            if (n.endsWith("position_ids")) continue; // not a weight (ignored by diffusers' loader too)
            put(data, shapes, prefix + "transformer." + transformer(n), f, n);
        }
        for (var e : qkv.entrySet()) {
            float[][] parts = e.getValue();
            float[] cat = new float[parts[0].length * 3];
            for (int c = 0; c < 3; c++) System.arraycopy(parts[c], 0, cat, c * parts[0].length, parts[c].length);
            long[] s = qkvShape.get(e.getKey()).clone();
            s[0] *= 3;
            data.put(prefix + "transformer." + e.getKey(), cat);
            shapes.put(prefix + "transformer." + e.getKey(), s);
        }
    }

    private static String transformer(String hf) {
        String v = hf;
        for (String[] p : OPENCLIP_TRANSFORMER) v = v.replace(p[0], p[1]);
        return v;
    }

    /** {@code name} of {@code f} as float32 under {@code key}. */
    public static void put(Map<String, float[]> data, Map<String, long[]> shapes, String key, SafetensorsFile f, String name) throws IOException {
        try (Tensor t = f.load(name)) {
            if (data.put(key, t.toFloatArray()) != null) throw new AssertionError("two tensors map to " + key);
            shapes.put(key, t.shape());
        }
    }
}
