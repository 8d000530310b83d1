// Classify images with the CIFAR-10 CNN exported by `ker6_predict.py --export`, from C++.
//
// OpenCV's dnn module reads the ONNX file and runs it; no Python, TensorFlow or Keras is
// needed. Each image is prepared exactly as ker6_predict.py prepares it:
//   read (OpenCV gives BGR) -> RGB -> largest centred square -> 32x32 (INTER_AREA to
//   shrink, INTER_CUBIC to enlarge) -> float32 / 255 -> an NHWC blob (1, 32, 32, 3).
//
//   predict MODEL.onnx IMAGE... [--probabilities] [--repeat N] [--scale S] [--bgr]
//
// It prints the top 3 classes of each image. --probabilities adds all 10 probabilities
// (9 significant digits, for comparing with Keras), --repeat N runs the forward pass N times
// per image and prints the median time of one forward pass. --bgr skips the BGR -> RGB
// swap: the wrong preprocessing, there to show that it changes the answer.
// Bad input gives one line "error: ..." on stderr and exit code 2.

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

const int kSide = 32;  // CIFAR-10 images are 32x32x3
const int kTopK = 3;
const std::vector<std::string> kClassNames = {"airplane", "automobile", "bird",  "cat",  "deer",
                                              "dog",      "frog",       "horse", "ship", "truck"};

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// OpenCV's messages can span lines; an error here is one line.
std::string first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    return line.empty() ? "unknown error" : line;
}

// The image as the network saw it in training: an NHWC float32 blob of shape (1, 32, 32, 3).
cv::Mat prepare(const std::string& path, double scale, bool swap_to_rgb) {
    if (!std::ifstream(path).good()) throw UsageError("no such image file: " + path);
    cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);  // 8-bit BGR, whatever the file held
    if (image.empty()) throw UsageError(path + " is not an image OpenCV can read");
    if (swap_to_rgb) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);  // Keras models want RGB
    int side = std::min(image.rows, image.cols);
    cv::Rect square((image.cols - side) / 2, (image.rows - side) / 2, side, side);
    cv::Mat small;
    int interpolation = side >= kSide ? cv::INTER_AREA : cv::INTER_CUBIC;
    cv::resize(image(square), small, cv::Size(kSide, kSide), 0, 0, interpolation);
    cv::Mat pixels;
    small.convertTo(pixels, CV_32F, scale);  // (32, 32) of 3 floats, 0..1
    int shape[] = {1, kSide, kSide, 3};      // (batch, height, width, channels)
    return pixels.reshape(1, 4, shape).clone();
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int run(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> images;
    std::string model;
    bool show_all = false, swap_to_rgb = true;
    int repeat = 0;
    double scale = 1.0 / 255.0;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() {
            if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
            return args[++i];
        };
        if (a == "-h" || a == "--help") {
            std::printf(
                "usage: predict MODEL.onnx IMAGE... [--probabilities] [--repeat N] "
                "[--scale S] [--bgr]\n");
            return 0;
        } else if (a == "--probabilities") {
            show_all = true;
        } else if (a == "--bgr") {
            swap_to_rgb = false;
        } else if (a == "--repeat") {
            std::string text = value();
            char* end = nullptr;
            long n = std::strtol(text.c_str(), &end, 10);
            if (*end != '\0' || n < 1) throw UsageError("--repeat wants a positive whole number");
            repeat = static_cast<int>(n);
        } else if (a == "--scale") {
            std::string text = value();
            char* end = nullptr;
            scale = std::strtod(text.c_str(), &end);
            if (*end != '\0' || !(scale > 0)) throw UsageError("--scale wants a positive number");
        } else if (a.rfind("--", 0) == 0) {
            throw UsageError("unknown option " + a);
        } else if (model.empty()) {
            model = a;
        } else {
            images.push_back(a);
        }
    }
    if (model.empty() || images.empty())
        throw UsageError("usage: predict MODEL.onnx IMAGE... (see --help)");
    if (!std::ifstream(model).good()) throw UsageError("no such model file: " + model);

    cv::dnn::Net net;
    try {
        net = cv::dnn::readNetFromONNX(model);  // loaded once, used for every image
    } catch (const cv::Exception& e) {
        throw UsageError("OpenCV cannot read " + model + " as an ONNX model: " + first_line(e.err));
    }
    std::printf("model: %s (OpenCV %s, cv::dnn)\n", model.c_str(), CV_VERSION);

    size_t width = 0;  // names padded to one column, as ker6_predict.py prints them
    for (const std::string& path : images) width = std::max(width, std::min<size_t>(path.size(), 40));
    std::vector<double> forward_ms;
    for (const std::string& path : images) {
        cv::Mat blob = prepare(path, scale, swap_to_rgb);
        net.setInput(blob);
        cv::Mat out = net.forward().clone();  // the first call also allocates the layers
        for (int r = 0; r < repeat; ++r) {
            auto start = std::chrono::steady_clock::now();
            net.setInput(blob);
            net.forward();
            std::chrono::duration<double, std::milli> took =
                std::chrono::steady_clock::now() - start;
            forward_ms.push_back(took.count());
        }
        if (out.total() != kClassNames.size())
            throw UsageError(model + " gives " + std::to_string(out.total()) +
                             " outputs per image, not 10 CIFAR-10 classes");
        const float* p = out.ptr<float>();
        std::vector<int> order(kClassNames.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [p](int a, int b) { return p[a] > p[b]; });
        std::printf("  %-*s ", static_cast<int>(width), path.c_str());
        for (int k = 0; k < kTopK; ++k)
            std::printf("  %11s %5.1f%%", kClassNames[order[k]].c_str(), 100.0 * p[order[k]]);
        std::printf("\n");
        if (show_all) {
            std::printf("    probabilities:");
            for (size_t c = 0; c < kClassNames.size(); ++c) std::printf(" %.9g", p[c]);
            std::printf("\n");
        }
    }
    if (!forward_ms.empty())
        std::printf("forward pass: median %.4f ms per image over %zu calls\n",
                    median(forward_ms), forward_ms.size());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    try {
        return run(argc, argv);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    } catch (const cv::Exception& e) {
        std::fprintf(stderr, "error: OpenCV: %s\n", first_line(e.err).c_str());
    }
    return 2;
}
