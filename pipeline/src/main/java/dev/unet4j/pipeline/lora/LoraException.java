package dev.unet4j.pipeline.lora;

import java.util.List;

/** Everything wrong with a LoRA set for a model, in one exception (file, key, what was expected). */
public final class LoraException extends IllegalArgumentException {
    private final List<String> problems;

    public LoraException(String what, List<String> problems) {
        super(what + " (" + problems.size() + " problem" + (problems.size() == 1 ? "" : "s") + "):\n  - "
                + String.join("\n  - ", problems.size() > 60 ? append(problems.subList(0, 60), "... " + (problems.size() - 60) + " more") : problems));
        this.problems = List.copyOf(problems);
    }

    private static List<String> append(List<String> l, String s) {
        List<String> out = new java.util.ArrayList<>(l);
        out.add(s);
        return out;
    }

    public List<String> problems() {
        return problems;
    }
}
