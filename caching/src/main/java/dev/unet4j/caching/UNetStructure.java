package dev.unet4j.caching;

import dev.unet4j.unet.UNetModel;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The block layout of a UNet as caching policies need it, read from the model's node paths: layers per block, which
 * blocks have attention and resamplers, and the skip-stack bookkeeping (which skip each up-block layer pops in a
 * full call and at which resolution level each skip lives).
 */
public final class UNetStructure {
    private final Set<String> paths;
    private final List<String> orderedPaths;
    private final int[] downLayers, upLayers;
    private final boolean[] downResample, upResample;
    private final boolean hasMid;
    private final int skipCount;
    private final int[] skipLevel;

    public UNetStructure(UNetModel model) {
        this(model.nodePaths(), model.skipCount());
    }

    UNetStructure(List<String> nodePaths, int skipCount) {
        this.orderedPaths = List.copyOf(nodePaths);
        this.paths = new HashSet<>(nodePaths);
        int nd = countBlocks("down_blocks."), nu = countBlocks("up_blocks.");
        downLayers = new int[nd];
        downResample = new boolean[nd];
        for (int d = 0; d < nd; d++) {
            downLayers[d] = countLayers("down_blocks." + d + ".resnets.");
            downResample[d] = paths.contains("down_blocks." + d + ".downsamplers.0");
        }
        upLayers = new int[nu];
        upResample = new boolean[nu];
        for (int u = 0; u < nu; u++) {
            upLayers[u] = countLayers("up_blocks." + u + ".resnets.");
            upResample[u] = paths.contains("up_blocks." + u + ".upsamplers.0");
        }
        hasMid = paths.contains("mid_block");
        this.skipCount = skipCount;
        List<Integer> levels = new ArrayList<>();
        levels.add(0);                                               // conv_in
        for (int d = 0; d < nd; d++) {
            for (int j = 0; j < downLayers[d]; j++) levels.add(d);
            if (downResample[d]) levels.add(d + 1);
        }
        if (levels.size() != skipCount) {
            throw new IllegalStateException("skip layout from node paths has " + levels.size() + " entries, the model reports " + skipCount);
        }
        skipLevel = levels.stream().mapToInt(Integer::intValue).toArray();
        int pops = 0;
        for (int n : upLayers) pops += n;
        if (pops != skipCount) throw new IllegalStateException("up blocks pop " + pops + " skips, the down path pushes " + skipCount);
    }

    private int countBlocks(String prefix) {
        int n = 0;
        while (paths.contains(prefix + n)) n++;
        return n;
    }

    private int countLayers(String prefix) {
        int n = 0;
        while (paths.contains(prefix + n)) n++;
        return n;
    }

    public boolean has(String path) {
        return paths.contains(path);
    }

    /** Every node path, in running order. */
    public List<String> paths() {
        return orderedPaths;
    }

    public int downBlocks() {
        return downLayers.length;
    }

    public int upBlocks() {
        return upLayers.length;
    }

    public int downLayers(int block) {
        return downLayers[block];
    }

    public int upLayers(int block) {
        return upLayers[block];
    }

    public boolean downsamples(int block) {
        return downResample[block];
    }

    public boolean upsamples(int block) {
        return upResample[block];
    }

    public boolean hasMid() {
        return hasMid;
    }

    public int skipCount() {
        return skipCount;
    }

    /** Resolution level of {@code skip.k} (0 = full resolution). */
    public int skipLevel(int k) {
        return skipLevel[k];
    }

    /** Number of resolution levels (down blocks). */
    public int levels() {
        return downLayers.length;
    }

    /** The skip index the {@code j}-th pop of up block {@code u} receives in a full call. */
    public int poppedSkip(int u, int j) {
        int base = skipCount - 1;
        for (int i = 0; i < u; i++) base -= upLayers[i];
        return base - j;
    }

    /** {@code down_blocks.d.resnets.j} etc.: the nodes making up down layer j (resnet, attention if any). */
    public List<String> downLayerNodes(int d, int j) {
        return layerNodes("down_blocks." + d, j);
    }

    public List<String> upLayerNodes(int u, int j) {
        return layerNodes("up_blocks." + u, j);
    }

    private List<String> layerNodes(String block, int j) {
        List<String> out = new ArrayList<>();
        out.add(block + ".resnets." + j);
        if (paths.contains(block + ".attentions." + j)) out.add(block + ".attentions." + j);
        return out;
    }

    /** The node whose output is the hidden state entering layer {@code j} of up block {@code u} (before the concat). */
    public String upLayerPredecessor(int u, int j) {
        if (j > 0) {
            List<String> prev = upLayerNodes(u, j - 1);
            return prev.get(prev.size() - 1);
        }
        if (u > 0) return "up_blocks." + (u - 1);
        if (hasMid) return "mid_block";
        return "down_blocks." + (downBlocks() - 1);
    }

    /** Paths of nodes strictly inside {@code parent}. */
    public List<String> descendants(String parent) {
        String prefix = parent + ".";
        List<String> out = new ArrayList<>();
        for (String p : orderedPaths) if (p.startsWith(prefix)) out.add(p);
        return Collections.unmodifiableList(out);
    }
}
