/* The Insights page's charts (bot/web/templates/insights.html), drawn with the pinned Chart.js served from
   /static/charts/. The figures come from the page itself (a JSON data block, which the Content-Security-Policy
   lets through as it is never run); every chart repeats a table of the page, which stays the accessible
   version. Without this script or Chart.js the tables are all there is. */
(function () {
  "use strict";

  var block = document.getElementById("insights-data");
  if (!block || typeof window.Chart !== "function") {
    return;
  }
  var data = JSON.parse(block.textContent);
  var Chart = window.Chart;

  // Colours with at least 3:1 contrast against the white page, told apart by more than hue (dashes, points).
  var BLUE = "#005a8c";
  var ORANGE = "#b54a00";
  var GREEN = "#2e6b30";
  var PURPLE = "#6a3d9a";
  var GREY = "#5f6368";
  var CHANNELS = { web: "Website chat", telegram: "Telegram", rest: "REST", other: "Other" };
  var LANGUAGES = { en: "English", fi: "Finnish" };

  Chart.defaults.animation = false; // figures, not a show; also nothing moves for people who asked for less motion
  Chart.defaults.maintainAspectRatio = false; // the .chart box sets the height
  Chart.defaults.font.family = "system-ui, sans-serif";
  Chart.defaults.color = "#1b1b1b";

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) {
      // The canvas is an image to assistive technology (role="img" and its label); the tables carry the data.
      return new Chart(canvas, config);
    }
    return null;
  }

  function title(text) {
    return { display: true, text: text, font: { size: 15, weight: "600" } };
  }

  function countAxis() {
    return { beginAtZero: true, ticks: { precision: 0 } };
  }

  // By channel and language: user messages and conversations per channel, one bar per language.
  var breakdown = data.by_channel_language;
  var channelKeys = data.channels.filter(function (channel) {
    return channel in CHANNELS;
  });
  var languageColours = [BLUE, ORANGE, GREEN, PURPLE];
  draw("chart-channels", {
    type: "bar",
    data: {
      labels: channelKeys.map(function (channel) {
        return CHANNELS[channel];
      }),
      datasets: data.languages.map(function (language, index) {
        return {
          label: "User messages, " + (LANGUAGES[language] || language),
          backgroundColor: languageColours[index % languageColours.length],
          data: channelKeys.map(function (channel) {
            var row = breakdown.find(function (cell) {
              return cell.channel === channel && cell.language === language;
            });
            return row ? row.user_messages : 0;
          }),
        };
      }),
    },
    options: {
      plugins: { title: title("User messages by channel and language") },
      scales: { y: countAxis() },
    },
  });

  // The trend: a bar a day in a short period, a week a bar in a longer one (data.trend), stacked by channel so
  // that the channels are told apart at a glance and one busy day is not lost among empty bars.
  var trend = data.trend.rows;
  var perWeek = data.trend.unit === "week";
  var days = trend.map(function (row) {
    return perWeek ? (row.from === row.to ? row.from : row.from + " – " + row.to) : row.from;
  });
  function series(name) {
    return trend.map(function (row) {
      return row[name];
    });
  }
  var channelColours = { web: BLUE, telegram: GREEN, rest: ORANGE, other: GREY };
  var per = perWeek ? "week" : "day";

  draw("chart-daily", {
    type: "bar",
    data: {
      labels: days,
      datasets: Object.keys(CHANNELS).filter(function (channel) {
        return trend.some(function (row) { return channel in row.by_channel; });
      }).map(function (channel) {
        return {
          label: CHANNELS[channel],
          backgroundColor: channelColours[channel],
          stack: "messages",
          data: trend.map(function (row) { return row.by_channel[channel] || 0; }),
        };
      }),
    },
    options: {
      plugins: { title: title("User messages per " + per + ", by channel") },
      scales: { x: { stacked: true }, y: Object.assign(countAxis(), { stacked: true }) },
    },
  });

  draw("chart-outcomes", {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        { label: "Answered", data: series("answered"), backgroundColor: GREEN, stack: "questions" },
        { label: "Don't know", data: series("dont_know"), backgroundColor: ORANGE, stack: "questions" },
        { label: "Handoffs started", data: series("handoffs_started"), backgroundColor: PURPLE, stack: "handoffs" },
      ],
    },
    options: {
      plugins: { title: title("Answers, “don't know” replies and handoffs per " + per) },
      scales: { x: { stacked: true }, y: Object.assign(countAxis(), { stacked: true }) },
    },
  });

  var hourLabels = [];
  for (var hour = 0; hour < 24; hour += 1) {
    hourLabels.push((hour < 10 ? "0" : "") + hour);
  }
  draw("chart-hours", {
    type: "bar",
    data: {
      labels: hourLabels,
      datasets: [{ label: "User messages", data: data.hours.by_hour, backgroundColor: BLUE }],
    },
    options: {
      plugins: { title: title("User messages by hour (" + data.period.timezone + ")"), legend: { display: false } },
      scales: { y: countAxis() },
    },
  });

  draw("chart-weekdays", {
    type: "bar",
    data: {
      labels: data.hours.weekdays,
      datasets: [{ label: "User messages", data: data.hours.by_weekday, backgroundColor: GREY }],
    },
    options: {
      plugins: { title: title("User messages by day of the week"), legend: { display: false } },
      scales: { y: countAxis() },
    },
  });

  draw("chart-facts", {
    type: "bar",
    data: {
      labels: data.top_facts.map(function (row) {
        return row.title || row.fact;
      }),
      datasets: [
        {
          label: "Answers",
          data: data.top_facts.map(function (row) {
            return row.answers;
          }),
          backgroundColor: GREEN,
        },
        {
          label: "Of these by a button",
          data: data.top_facts.map(function (row) {
            return row.via_button;
          }),
          backgroundColor: GREY,
        },
      ],
    },
    options: {
      indexAxis: "y",
      plugins: { title: title("The facts answered most often") },
      scales: { x: countAxis() },
    },
  });
})();
