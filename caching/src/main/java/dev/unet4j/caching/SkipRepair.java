package dev.unet4j.caching;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.SkipEvent;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The cache session's safety net for the skip stack. Policies should keep the stack aligned (replace a pushing or
 * popping block by its layers, not whole, as {@link dev.unet4j.caching.policy.DeepCache} does), because the graph
 * also reads upsample sizes from it; still, every pop is mapped to the skip index the popping layer receives in a full
 * call ({@link UNetStructure#poppedSkip}), and a misplaced entry is served from this pass's pushes or from a policy's
 * {@link PolicyRun#cachedSkip}. The right skip then goes through the policies' {@link PolicyRun#transformSkip}.
 */
final class SkipRepair {
    private final UNetStructure structure;
    private final List<Tensor> pushed = new ArrayList<>();
    private final Map<String, Integer> pops = new HashMap<>();

    SkipRepair(UNetStructure structure) {
        this.structure = structure;
    }

    /** A UNet pass (forward, encode or decode) begins with an empty stack. */
    void beginPass() {
        pushed.clear();
        pops.clear();
    }

    /** {@code t} was pushed (the graph owns it; it stays valid for the pass). */
    void pushed(Tensor t) {
        pushed.add(t);
    }

    /** The skip the popping layer of {@code event} receives on call {@code callIndex}: graph-owned. */
    Tensor pop(SkipEvent event, int callIndex, PolicyRuns runs, Kernels k, Workspace ws) {
        int u = upBlockIndex(event.node());
        int j = pops.merge(event.node(), 1, Integer::sum) - 1;
        int expected = structure.poppedSkip(u, j);
        Tensor t;
        if (event.index() == expected) {
            t = event.tensor();
        } else if (expected < pushed.size()) {
            t = k.copy(ws, pushed.get(expected));              // still on the stack below the popped entry
        } else {
            t = runs.cachedSkip(expected, callIndex, k, ws);
            if (t == null) {
                throw new IllegalStateException(event.node() + " needs skip." + expected + " on call " + callIndex
                        + ", which this call did not push and no policy kept");
            }
        }
        if (runs.served(structure.upLayerNodes(u, j).get(0))) return t;   // its consumer is served: nothing reads it
        return runs.transformSkip(event, expected, t, k, ws);
    }

    private static int upBlockIndex(String node) {
        if (!node.startsWith("up_blocks.")) throw new IllegalStateException("skip popped by " + node + ", not an up block");
        return Integer.parseInt(node.substring("up_blocks.".length()));
    }
}
