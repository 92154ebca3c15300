package dev.unet4j.unet.nn;

import java.util.ArrayList;
import java.util.List;

final class Blocks {
    private Blocks() {
    }

    /** resnets.0, attentions.0, resnets.1, ..., then the resampler: the children in running order. */
    static List<Node> interleave(List<? extends Node> resnets, List<Node> attentions, Node resampler) {
        List<Node> c = new ArrayList<>();
        for (int j = 0; j < resnets.size(); j++) {
            c.add(resnets.get(j));
            if (j < attentions.size()) c.add(attentions.get(j));
        }
        if (resampler != null) c.add(resampler);
        return c;
    }
}
