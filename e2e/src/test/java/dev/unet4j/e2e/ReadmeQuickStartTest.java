package dev.unet4j.e2e;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.GeneratedImages;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.pipeline.TextToImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's quick starts. The library one is a whole file: it is taken from README.md's text (the java block that
 * declares {@code public class QuickStart}), compiled with javax.tools against this test's class path and run; the
 * Maven and Gradle coordinates beside it must name this build's version. The prompt-to-picture snippet is copied
 * verbatim between the markers.
 */
class ReadmeQuickStartTest {
    @TempDir
    Path dir;

    static String readme() throws IOException {
        return Files.readString(Path.of(System.getProperty("unet4j.readme", "../README.md")));
    }

    /** The body of the first {@code ```lang} block of {@code text} that contains {@code marker}. */
    static String codeBlock(String text, String lang, String marker) {
        Matcher m = Pattern.compile("```" + lang + "\\n(.*?)```", Pattern.DOTALL).matcher(text);
        while (m.find()) {
            if (m.group(1).contains(marker)) return m.group(1);
        }
        throw new AssertionError("README.md has no ```" + lang + " block with " + marker);
    }

    @Test
    void quickStartFileFromTheReadmeCompilesRunsAndWritesTheDigits() throws Exception {
        String source = codeBlock(readme(), "java", "public class QuickStart");
        Path src = dir.resolve("src/QuickStart.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, source);
        Path classes = Files.createDirectories(dir.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "--release", "17", "-proc:none", "-Xlint:all,-path", "-Werror",
                "-cp", System.getProperty("java.class.path"), "-d", classes.toString(), src.toString());
        assertEquals(0, rc, "README quick start does not compile:\n" + diagnostics);

        Path png = dir.resolve("digits.png");
        String cacheBefore = System.getProperty("unet4j.cache");
        System.setProperty("unet4j.cache", dir.resolve("cache").toString());   // DemoModels extracts here
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true));
        try (URLClassLoader loader = new URLClassLoader(new URL[]{classes.toUri().toURL()}, getClass().getClassLoader())) {
            Method main = loader.loadClass("QuickStart").getMethod("main", String[].class);
            main.invoke(null, (Object) new String[]{png.toString()});
        } finally {
            System.setOut(stdout);
            if (cacheBefore == null) System.clearProperty("unet4j.cache");
            else System.setProperty("unet4j.cache", cacheBefore);
        }
        assertEquals(25, printed.toString().lines().filter(l -> l.matches("step \\d+/25")).count(), printed.toString());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(4 * 16 * 4, img.getWidth());
        assertEquals(16 * 4, img.getHeight());
        for (int cell = 0; cell < 4; cell++) {
            int lo = 255, hi = 0;
            for (int y = 0; y < 64; y++) {
                for (int x = cell * 64; x < cell * 64 + 64; x++) {
                    int v = img.getRaster().getSample(x, y, 0);
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
            assertTrue(lo < 40 && hi > 200, "digit " + cell + ": black background and white ink, got " + lo + ".." + hi);
        }
    }

    @Test
    void dependencySnippetsNameThisBuildsModulesAndVersion() throws IOException {
        String readme = readme();
        String version = System.getProperty("unet4j.version");
        assertTrue(version != null && !version.isBlank(), "the build passes unet4j.version");
        String xml = codeBlock(readme, "xml", "<artifactId>unet4j-pipeline</artifactId>");
        Matcher dep = Pattern.compile("<groupId>(.*?)</groupId>\\s*<artifactId>(.*?)</artifactId>.*?<version>(.*?)</version>", Pattern.DOTALL).matcher(xml);
        int deps = 0;
        while (dep.find()) {
            deps++;
            assertEquals("dev.unet4j", dep.group(1));
            assertEquals(version, dep.group(3), dep.group(2) + " version in the README's Maven snippet");
            assertTrue(Files.isRegularFile(Path.of(System.getProperty("unet4j.readme", "../README.md")).resolveSibling(
                    dep.group(2).replace("unet4j-", "")).resolve("pom.xml")), dep.group(2) + " is a module of this build");
        }
        assertEquals(2, deps, xml);
        for (String artifact : new String[]{"unet4j-pipeline", "unet4j-demo"}) {
            assertTrue(readme.contains("implementation 'dev.unet4j:" + artifact + ":" + version + "'"), "Gradle line for " + artifact);
        }
    }

    /** The README's prompt-to-picture snippet, verbatim between the markers, on the digits-text demo pipeline. */
    @Test
    void promptQuickStartWritesSevens() throws IOException {
        Path pipelineDir = Fixtures.model("digits-text-32");
        // README-BEGIN pipeline
        try (StableDiffusion sd = StableDiffusion.load(pipelineDir, PipelineOptions.defaults()
                .withCache(CachePolicies.parse("deepcache:interval=2")))) {           // optional, as for UNets
            GeneratedImages out = sd.generate(TextToImage.of("a handwritten seven")
                    .negativePrompt("").size(32, 32).steps(25).guidance(3).scheduler("ddim").seeds(0, 1, 2, 3)
                    .onStep(s -> s.index() < 100));                                   // false cancels; s.preview() decodes
            for (int i = 0; i < out.images().size(); i++) PngWriter.write(out.images().get(i), dir.resolve("seven-" + i + ".png"));
        }
        // README-END pipeline
        for (int i = 0; i < 4; i++) {
            BufferedImage img = ImageIO.read(dir.resolve("seven-" + i + ".png").toFile());
            assertEquals(32, img.getWidth());
            int lo = 255, hi = 0;
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    int v = img.getRaster().getSample(x, y, 0);
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
            assertTrue(lo < 40 && hi > 200, "seven " + i + ": dark background and light ink, got " + lo + ".." + hi);
        }
    }
}
