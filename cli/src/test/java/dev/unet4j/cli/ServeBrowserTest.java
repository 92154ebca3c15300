package dev.unet4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The web page in a real browser (Debian's chromium, headless, driven through its chromedriver by Selenium): type a
 * prompt, press Generate, watch the progress move, and get the image {@code unet4j generate} writes for that seed.
 */
class ServeBrowserTest {
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @TempDir
    Path tmp;

    private static WebDriver browser() {
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,900");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        return new ChromeDriver(service, o);
    }

    @Test
    void typePromptPressGenerateSeeProgressAndTheCliImage() throws Exception {
        assumeTrue(Files.isExecutable(CHROMEDRIVER) && Files.isExecutable(CHROMIUM),
                "needs Debian's chromium and chromium-driver (/usr/bin/chromedriver): apt-get install -y chromium chromium-driver");
        Path cliPng = tmp.resolve("seven.png");
        Cli.run("generate", "--quiet", "--class-label", 7, "--seed", 42, "--steps", 25, "--out", cliPng).assertOk();

        try (Served s = new Served()) {
            WebDriver driver = browser();
            try {
                driver.get(s.uri.toString());
                WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(60));
                wait.until(d -> !new Select(d.findElement(By.id("model"))).getOptions().isEmpty());
                assertEquals("demo-digits", new Select(driver.findElement(By.id("model"))).getFirstSelectedOption().getText());
                assertEquals("25", driver.findElement(By.id("steps")).getAttribute("value")); // the model's defaults filled in
                assertEquals("ddim", new Select(driver.findElement(By.id("sampler"))).getFirstSelectedOption().getText());

                driver.findElement(By.id("prompt")).sendKeys("a handwritten seven");
                WebElement seed = driver.findElement(By.id("seed"));
                seed.clear();
                seed.sendKeys("42");
                driver.findElement(By.id("generate")).click();

                WebElement result = wait.until(d -> d.findElements(By.cssSelector("#gallery img.result")).stream().findFirst().orElse(null));
                String src = result.getAttribute("src");
                assertTrue(src.startsWith("data:image/png;base64,"), src);
                byte[] shown = Base64.getDecoder().decode(src.substring("data:image/png;base64,".length()));
                assertArrayEquals(Files.readAllBytes(cliPng), shown, "the page's image is the CLI's PNG for seed 42");

                // the progress moved step by step (every progress event is recorded in data-steps) and finished
                List<Integer> steps = Arrays.stream(driver.findElement(By.id("status")).getAttribute("data-steps").split(","))
                        .filter(x -> !x.isEmpty()).map(Integer::valueOf).toList();
                assertTrue(steps.stream().distinct().count() >= 3, "progress events seen: " + steps);
                assertEquals(25, steps.get(steps.size() - 1), steps.toString());
                assertEquals("1", driver.findElement(By.id("progress")).getAttribute("value"));
                assertFalse(Boolean.parseBoolean(driver.findElement(By.id("preview")).getAttribute("hidden")), "a step preview was shown");
                String caption = driver.findElement(By.cssSelector("#gallery figcaption")).getText();
                assertTrue(caption.contains("seed 42") && caption.contains("25 steps"), caption);
            } finally {
                driver.quit();
            }
        }
    }
}
