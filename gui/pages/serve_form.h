#pragma once
// The Serve page's scenario form: fields bound to the scenario's YAML keys (docs/scenario.md),
// filled from the resolved scenario (the values that run, engine-preset defaults included), and
// the ScenarioDoc edit each field change makes.
#include <string>
#include <utility>

#include "gui/app/app_context.h"
#include "gui/app/field_form.h"
#include "sim/scenario.h"

namespace fathom::gui {

// Adds the model, hardware, layout, precision, engine, workload and SLO fields.
void add_serve_fields(FieldForm& form, const AppContext& context);

// Fills every field from the resolved scenario without emitting `edited`, and enables the fields
// that apply to it (ep for a model with experts; the arrival keys of its process). A scenario
// without a workload shows the default workload, which the first workload edit writes whole.
void show_serve_scenario(FieldForm& form, const sim::ResolvedScenario& r);

// Enables the arrival fields of `process` (rate for poisson/gamma/constant/burst, cv for gamma,
// on/off for burst, file and speedup for trace).
void enable_arrival_fields(FieldForm& form, const std::string& process);

// The edit a field change makes, as (YAML path, YAML value). Arrival fields write the whole
// `serve.workload.arrival` map (the keys of its process only) and hardware fields the whole
// `hardware` map, so that a new process or a cluster scenario stays valid; with `has_workload`
// false every workload field writes the whole workload; an SLO of 0 removes it (null).
std::pair<std::string, std::string> serve_edit(const FieldForm& form, const std::string& path, const std::string& value,
                                               bool has_workload);

// The field an error concerns: its own path when the form has it, else the field named by the
// key the library quoted, else the first field under the path ("serve.workload.arrival" →
// its process), else none (the error shows under the form).
FieldError place_error(const FieldForm& form, const FieldError& e);

}  // namespace fathom::gui
