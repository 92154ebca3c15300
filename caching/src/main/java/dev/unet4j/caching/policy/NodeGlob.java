package dev.unet4j.caching.policy;

import java.util.List;
import java.util.regex.Pattern;

/** Node-path patterns: {@code *} matches one path segment, {@code **} any number; several patterns are or-ed. */
public record NodeGlob(List<String> patterns, List<Pattern> compiled) {

    public static NodeGlob of(List<String> patterns) {
        if (patterns.isEmpty()) throw new IllegalArgumentException("no node pattern given");
        return new NodeGlob(List.copyOf(patterns), patterns.stream().map(NodeGlob::compile).toList());
    }

    private static Pattern compile(String glob) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char ch = glob.charAt(i);
            if (ch == '*') {
                if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                    re.append(".*");
                    i++;
                } else {
                    re.append("[^.]+");
                }
            } else {
                re.append(Pattern.quote(String.valueOf(ch)));
            }
        }
        return Pattern.compile(re.toString());
    }

    public boolean matches(String path) {
        for (Pattern p : compiled) if (p.matcher(path).matches()) return true;
        return false;
    }

    @Override
    public String toString() {
        return String.join("|", patterns);
    }
}
