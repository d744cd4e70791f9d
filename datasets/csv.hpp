// Numeric CSV tables with one label column (class labels as names or integers).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "datasets/dataset.hpp"

namespace inflab::data {

struct CsvOptions {
  long label_column = -1;  // which column holds the label; negative counts from the end
  bool header = true;      // the first line names the columns
  // Known classes. Labels may then be these names or integers < their count. Without
  // them: integer labels give classes 0..max, names are numbered in sorted order.
  std::vector<std::string> class_names;
  bool regression = false;  // the label column is a real-valued target instead
};

// `source` names the input in errors ("file.csv, line 7, column 3: ...").
Dataset parse_csv(std::string_view text, const CsvOptions& opt = {},
                  const std::string& source = "<csv>");
Dataset read_csv(const std::string& path, const CsvOptions& opt = {});  // .gz allowed

// The bundled tables in data/: $INFLAB_DATA, else the source tree's data/ (as configured at
// build time), else beside the program (../share/inflab, or ../inflab as pip installs them),
// else the configured install prefix's share/inflab.
std::string bundled_data_dir();
Dataset load_iris();
Dataset load_wine();
Dataset load_breast_cancer();
Dataset load_digits();  // X [1797, 64], values 0..16

}  // namespace inflab::data
