package dev.unet4j.unet;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Glob patterns over dotted module and node paths ({@code up_blocks.1.attentions.0.proj_in}), one rule for every
 * module that selects layers or nodes by path (quantization plans, cache policies):
 *
 * <ul>
 *   <li>{@code *} matches one or more characters within one path segment (no dot): {@code down_blocks.*.resnets}
 *   matches {@code down_blocks.0.resnets}, {@code attn*} matches {@code attn1};</li>
 *   <li>{@code **} matches any run of characters, dots included (any number of segments, or none):
 *   {@code **.conv_shortcut} matches the shortcut at any depth, but not a top-level {@code conv_shortcut};</li>
 *   <li>{@code ?} matches one character other than a dot;</li>
 *   <li>everything else matches itself, and the whole path must match.</li>
 * </ul>
 * Several patterns are or-ed; {@link #toString} lists them separated by {@code |}.
 */
public final class PathGlob {
    private final List<String> patterns;
    private final List<Pattern> compiled;

    private PathGlob(List<String> patterns) {
        if (patterns.isEmpty()) throw new IllegalArgumentException("no path pattern given");
        for (String p : patterns) {
            if (p == null || p.isEmpty()) throw new IllegalArgumentException("empty path pattern in " + patterns);
        }
        this.patterns = List.copyOf(patterns);
        this.compiled = this.patterns.stream().map(PathGlob::compile).toList();
    }

    /** Matches a path that any of {@code patterns} matches. */
    public static PathGlob of(List<String> patterns) {
        return new PathGlob(patterns);
    }

    /** Matches a path that any of {@code patterns} matches. */
    public static PathGlob of(String... patterns) {
        return new PathGlob(List.of(patterns));
    }

    /** The patterns as given. */
    public List<String> patterns() {
        return patterns;
    }

    public boolean matches(String path) {
        for (Pattern p : compiled) if (p.matcher(path).matches()) return true;
        return false;
    }

    private static Pattern compile(String glob) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char ch = glob.charAt(i);
            if (ch == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                re.append(".*");
                while (i + 1 < glob.length() && glob.charAt(i + 1) == '*') i++;
            } else if (ch == '*') {
                re.append("[^.]+");
            } else if (ch == '?') {
                re.append("[^.]");
            } else {
                re.append(Pattern.quote(String.valueOf(ch)));
            }
        }
        return Pattern.compile(re.toString());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PathGlob g && g.patterns.equals(patterns);
    }

    @Override
    public int hashCode() {
        return patterns.hashCode();
    }

    @Override
    public String toString() {
        return String.join("|", patterns);
    }
}
