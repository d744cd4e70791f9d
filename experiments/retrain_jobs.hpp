// One retraining job, and the wire form of a batch of them: retrain_groups runs jobs in its
// own threads and, under MPI (mpi/), ships the batch to other processes, which run the same
// job function and send back the record. A record's text is the journal's JSON line, so a
// result read from another rank, from the journal or computed here is the same number.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "experiments/choices.hpp"
#include "experiments/retrain.hpp"

namespace inflab::experiments {

// Everything one job needs (references: the caller owns the data).
struct RetrainJobs {
  const nn::Objective& obj;
  const data::Dataset& train;
  const data::Dataset& test;
  const Tensor& theta_hat;
  const std::vector<std::vector<std::size_t>>& groups;  // job j removes groups[j]
  const std::vector<std::size_t>& test_rows;
  const RetrainProtocol& protocol;
  const std::vector<double>& base;  // ℓ(z_t; θ̂) for each test row
  // newton-cg's preconditioner at θ̂ (retrain_preconditioner); null: none
  std::shared_ptr<const nn::Preconditioner> preconditioner = nullptr;
};

// The preconditioner the protocol asks for at θ̂ (null unless newton-cg with one), computed
// at one BLAS thread so that every process builds the same bits.
std::shared_ptr<const nn::Preconditioner> retrain_preconditioner(const nn::Objective& obj, const data::Dataset& train,
                                                                        const Tensor& theta_hat, const RetrainProtocol& p);

// loo-cold, unrolled: the protocol's training on the whole training set from init(seed), at one
// BLAS thread — the point their Δ is measured from. Error when a training to a tolerance
// does not reach it (Δ would be measured from no minimum).
Tensor scratch_reference(const nn::Objective& obj, const data::Dataset& train, const RetrainProtocol& p);

// Retrain without groups[j] from θ̂ and record Δ for each test row, with the status
// (converged / budget / saddle / unresolved) of retrain.hpp. Throws on failure.
RetrainRecord run_retrain_job(const RetrainJobs& jobs, std::size_t j);

// The protocol as JSON (part of the journal's header and of the wire form).
nlohmann::json protocol_json(const RetrainProtocol& p);

// A record as one JSON line (no newline) and back; doubles round-trip exactly.
std::string encode_record(const RetrainRecord& r);
RetrainRecord decode_record(const std::string& line);

// A batch as bytes (a JSON header, then θ̂ and the inputs as raw float64), and back. The
// decoded batch owns its data; decoding checks the data's fingerprints against the sender's.
std::string encode_jobs(const RetrainJobs& jobs);
class DecodedJobs {
 public:
  explicit DecodedJobs(const std::string& bytes);
  ~DecodedJobs();
  const RetrainJobs& jobs() const { return *jobs_; }

 private:
  struct Owned;
  std::unique_ptr<Owned> owned_;
  std::unique_ptr<RetrainJobs> jobs_;
};

}  // namespace inflab::experiments
